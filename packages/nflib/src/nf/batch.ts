/**
 * The batch an NF handler works on: packets as offsets into the shared pool bytes, with
 * struct-of-arrays meta. One `PacketBatch` object per NF instance is reused for every batch.
 * @module
 */
import { Action } from './actions.js';
import type { PacketPool } from '../pool/index.js';

/**
 * A batch of packets. Entry `i` of every array describes packet `i` of the batch; packet bytes are
 * `data[offsets[i] .. offsets[i] + lengths[i])`. A handler reads and rewrites packets in place and
 * sets `action[i]` (default `NEXT`) and `destination[i]`; it may change `lengths[i]` up to
 * `capacity[i]` (the room in the packet's slot).
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

  /** Builds the reusable batch for `pool` with room for `burst` packets. */
  constructor(pool: PacketPool, burst: number) {
    this.data = pool.bytes;
    this.view = pool.view;
    this.capacity = pool.slotSize;
    this.offsets = new Uint32Array(burst);
    this.lengths = new Uint32Array(burst);
    this.action = new Uint8Array(burst);
    this.destination = new Uint16Array(burst);
    this.port = new Uint16Array(burst);
    this.flowHash = new Uint32Array(burst);
    this.slots = new Uint32Array(burst);
  }

  /** Sets every packet's action (e.g. `batch.setAll(Action.DROP)`). */
  setAll(action: number, destination = 0): void {
    this.action.fill(action, 0, this.count);
    this.destination.fill(destination, 0, this.count);
  }

  /**
   * Fills the batch from `count` slots (gathering their meta); actions start as `NEXT`.
   * @internal
   */
  gather(pool: PacketPool, count: number): void {
    const m = pool.meta;
    const base = pool.dataOffset;
    const size = pool.slotSize;
    for (let i = 0; i < count; i++) {
      const s = this.slots[i];
      this.offsets[i] = base + s * size;
      this.lengths[i] = m.length[s];
      this.port[i] = m.port[s];
      this.flowHash[i] = m.flowHash[s];
    }
    this.action.fill(Action.NEXT, 0, count);
    this.destination.fill(0, 0, count);
    this.count = count;
  }

  /**
   * Writes the handler's decisions back to the slots' meta; returns how many were dropped.
   * @internal
   */
  scatter(pool: PacketPool): number {
    const m = pool.meta;
    const size = pool.slotSize;
    let dropped = 0;
    for (let i = 0; i < this.count; i++) {
      const s = this.slots[i];
      const a = this.action[i];
      m.action[s] = a;
      m.destination[s] = this.destination[i];
      const len = this.lengths[i];
      m.length[s] = len <= size ? len : size;
      if (a === Action.DROP) dropped++;
    }
    return dropped;
  }
}
