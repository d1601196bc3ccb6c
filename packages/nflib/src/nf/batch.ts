/**
 * The batch an NF handler works on: packets as offsets into the shared pool bytes, with
 * struct-of-arrays meta. A batch handed over by the manager is a view of one of the pool's batch
 * descriptors (`pool/batch-table.ts`): the handler reads and writes the shared arrays in place, so
 * nothing is copied per packet between the manager and the NF. One `PacketBatch` object per
 * descriptor is made once and reused for every batch that descriptor carries.
 * @module
 */
import { Action } from './actions.js';
import type { PacketPool } from '../pool/index.js';

/**
 * A batch of packets. Entry `i` of every array describes packet `i` of the batch; packet bytes are
 * `data[offsets[i] .. offsets[i] + lengths[i])`. A handler reads and rewrites packets in place and
 * sets `action[i]` (default `NEXT`) and `destination[i]`; it may change `lengths[i]` up to
 * `capacity` (the room in the packet's slot). Entries at `count` and beyond are not packets.
 */
export class PacketBatch {
  /** Packets in this batch. */
  count = 0;
  /** All packet bytes of the pool (shared memory). */
  readonly data: Uint8Array;
  /** A DataView over {@link PacketBatch.data}, for multi-byte fields. */
  readonly view: DataView;
  /** Byte offset of each packet in {@link PacketBatch.data}. */
  readonly offsets: Uint32Array;
  /** Length of each packet in bytes. */
  readonly lengths: Uint32Array;
  /** Bytes each packet may grow to (its slot size). */
  readonly capacity: number;
  /** Action per packet (an {@link Action} code). */
  readonly action: Uint8Array;
  /** Service id (TONF) or port (OUT) per packet. */
  readonly destination: Uint16Array;
  /** Port each packet arrived on. */
  readonly port: Uint16Array;
  /** Flow hash of each packet (same flow, same hash). */
  readonly flowHash: Uint32Array;
  /** Pool slot of each packet (its identity while it is in flight). */
  readonly slots: Uint32Array;
  /** The pool batch descriptor this batch views, or -1 for a batch with arrays of its own. */
  readonly descriptor: number;

  /**
   * Builds a batch for `pool`: with `descriptor` (an index into `pool.batches`), a view of that
   * descriptor's arrays (`burst` is then its capacity); without, a batch with room for `burst`
   * packets in arrays of its own (to gather packets of several descriptors, or in tests).
   */
  constructor(pool: PacketPool, burst: number, descriptor = -1) {
    this.data = pool.bytes;
    this.view = pool.view;
    this.capacity = pool.slotSize;
    this.descriptor = descriptor;
    if (descriptor < 0) {
      this.offsets = new Uint32Array(burst);
      this.lengths = new Uint32Array(burst);
      this.action = new Uint8Array(burst);
      this.destination = new Uint16Array(burst);
      this.port = new Uint16Array(burst);
      this.flowHash = new Uint32Array(burst);
      this.slots = new Uint32Array(burst);
      return;
    }
    const t = pool.batches;
    if (!(descriptor < t.batchCount)) throw new RangeError(`no batch descriptor ${descriptor} in a table of ${t.batchCount}`);
    const a = descriptor * t.capacity;
    const b = a + t.capacity;
    this.offsets = t.offset.subarray(a, b);
    this.lengths = t.length.subarray(a, b);
    this.action = t.action.subarray(a, b);
    this.destination = t.destination.subarray(a, b);
    this.port = t.port.subarray(a, b);
    this.flowHash = t.flowHash.subarray(a, b);
    this.slots = t.slot.subarray(a, b);
  }

  /** Sets every packet's action (e.g. `batch.setAll(Action.DROP)`). */
  setAll(action: number, destination = 0): void {
    this.action.fill(action, 0, this.count);
    this.destination.fill(destination, 0, this.count);
  }

  /**
   * Starts a batch of `count` packets whose offsets, lengths, ports and flow hashes are in place:
   * every action becomes `NEXT`, every destination 0.
   * @internal
   */
  begin(count: number): void {
    this.count = count;
    this.action.fill(Action.NEXT, 0, count);
    this.destination.fill(0, 0, count);
  }

  /**
   * Appends packets `[from, from + n)` of `src` (offsets, lengths, ports, flow hashes, slots) after
   * this batch's `count`, with action `NEXT`; the caller makes sure they fit.
   * @internal
   */
  append(src: PacketBatch, from: number, n: number): void {
    const at = this.count - from;
    for (let i = from; i < from + n; i++) {
      const k = at + i;
      this.offsets[k] = src.offsets[i];
      this.lengths[k] = src.lengths[i];
      this.port[k] = src.port[i];
      this.flowHash[k] = src.flowHash[i];
      this.slots[k] = src.slots[i];
      this.action[k] = Action.NEXT;
      this.destination[k] = 0;
    }
    this.count += n;
  }

  /**
   * Writes the decisions for this batch's packets `[at, at + n)` (action, destination, length)
   * back to packets `[from, from + n)` of `dst`, the batch they were appended from.
   * @internal
   */
  returnTo(dst: PacketBatch, from: number, n: number, at: number): void {
    const d = at - from;
    for (let i = from; i < from + n; i++) {
      dst.action[i] = this.action[d + i];
      dst.destination[i] = this.destination[d + i];
      dst.lengths[i] = this.lengths[d + i];
    }
  }
}

/**
 * This thread's {@link PacketBatch} views of a pool's batch descriptors, made on first use (one
 * object per descriptor, reused for every batch it carries).
 * @internal
 */
export class BatchViews {
  private readonly pool: PacketPool;
  private readonly views: (PacketBatch | null)[];

  constructor(pool: PacketPool) {
    this.pool = pool;
    this.views = new Array<PacketBatch | null>(pool.batches.batchCount).fill(null);
  }

  /** The view of descriptor `d` (a valid index: the caller checks it against the table). */
  get(d: number): PacketBatch {
    let b = this.views[d];
    if (b === null) {
      b = new PacketBatch(this.pool, 0, d);
      this.views[d] = b;
    }
    return b;
  }
}
