/**
 * A pool of fixed-size packet slots in one `SharedArrayBuffer`, shared by every thread of a gnet
 * process, or in a shared memory region (an `ArrayBuffer` mapped by several processes, at a byte
 * offset inside the region). A packet is referred to by its u32 slot index (as DPDK refers to an
 * mbuf by pointer). Free slots are kept in an MPSC ring of indices; per-slot meta (the receive
 * timestamp) is struct-of-arrays beside them. Packets move between threads in batches: the pool
 * also holds a table of batch descriptors ({@link BatchTable}), and a ring entry names one.
 *
 * Threading: each thread builds its own {@link PacketPool} object over the buffer (`attach`). `alloc*`
 * is called from one thread at a time (the pool's owner, typically the RX side: the free list has a
 * single consumer); `free*` from any thread; a slot's bytes and meta belong to whichever thread holds
 * the slot's index.
 *
 * @module
 */

import { MpscRing } from '../ring/mpsc.js';
import { BatchTable } from './batch-table.js';
import { isSharedBuffer } from '../ring/sleep.js';
import {
  POOL_ALIGN,
  POOL_FLAG_DEBUG,
  POOL_FLAG_EPOCHS,
  POOL_HEADER_BYTES,
  POOL_LAYOUT_VERSION,
  POOL_MAGIC,
  PoolWord,
  poolLayout,
  type PoolLayout,
} from './layout.js';

/**
 * Per-slot meta, struct-of-arrays: entry `i` of each array belongs to slot `i`. What describes a
 * packet on its way (length, port, action, ...) travels in its batch descriptor ({@link BatchTable}).
 */
export interface SlotMeta {
  /** Receive timestamp, seconds since the Unix epoch. */
  readonly tsSec: Uint32Array;
  /** Receive timestamp, nanoseconds within the second. */
  readonly tsNsec: Uint32Array;
  /**
   * How many packets the slot has held (never 0 once it held one): bumped by `allocBurst`, and, once
   * {@link PacketPool.trackEpochs} was called, by the manager each time it receives a frame into a
   * slot it recycled. A packet's identity together with
   * its slot, so state kept about a packet elsewhere (a device copy of one of its fields) is not
   * mistaken for the next packet's in the same slot.
   */
  readonly epoch: Uint32Array;
}

/** Options of {@link PacketPool.create}. */
export interface PacketPoolOptions {
  /** Number of slots (1 .. 2^24). */
  slotCount: number;
  /** Bytes per slot, a multiple of 64 (default 2048: any standard frame plus headroom). */
  slotSize?: number;
  /** Track each slot's owner state to detect and count double frees (costs one atomic per slot). */
  debug?: boolean;
  /** Batch descriptors in the pool's batch table (default 1024). */
  batchCount?: number;
  /** Packets per batch descriptor (default 256). */
  batchCapacity?: number;
}

/** A snapshot of a pool's counters. */
export interface PoolStats {
  /** Slots in the pool. */
  slotCount: number;
  /** Slots free right now. */
  available: number;
  /** Slots requested by `alloc*` but not given because the pool was empty. */
  allocFailures: number;
  /** Frees of slots that were not allocated (counted in debug mode only; the free is ignored). */
  doubleFrees: number;
  /** Frees of indices that are not slots of this pool (always checked; the free is ignored). */
  invalidIndices: number;
  /** Freed slots the free list could not take: evidence of double frees outside debug mode. */
  freeOverflows: number;
}

/** Throws unless a pool region of `bytes` bytes fits at `byteOffset` (a multiple of 64) of `buffer`. */
function checkPlacement(buffer: ArrayBufferLike, byteOffset: number, bytes: number): void {
  if (!(buffer instanceof ArrayBuffer) && !isSharedBuffer(buffer)) {
    throw new TypeError('a packet pool lives in a SharedArrayBuffer or an ArrayBuffer mapping shared memory');
  }
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % POOL_ALIGN !== 0) {
    throw new RangeError(`pool byteOffset must be a non-negative multiple of ${POOL_ALIGN}, got ${byteOffset}`);
  }
  if (byteOffset + bytes > buffer.byteLength) {
    throw new RangeError(`a pool of ${bytes} bytes at byte ${byteOffset} does not fit in a buffer of ${buffer.byteLength} bytes`);
  }
}

/** Slots validated per chunk when a free burst needs filtering. */
const SCRATCH = 64;

/** Fixed-size packet slots addressed by u32 index, with burst alloc/free and per-slot meta. */
export class PacketPool {
  /** The shared memory holding the pool (header, free list, meta, slots). */
  readonly buffer: ArrayBufferLike;
  /** Where the pool starts in {@link PacketPool.buffer} (0 unless it was placed in a larger region). */
  readonly byteOffset: number;
  /** The pool's bytes (from its header on); slot `i` starts at {@link PacketPool.slotOffset}(i). */
  readonly bytes: Uint8Array;
  /** The pool's bytes as a `DataView` (same offsets as {@link PacketPool.bytes}), for the packet header helpers. */
  readonly view: DataView;
  /** Number of slots. */
  readonly slotCount: number;
  /** Bytes per slot. */
  readonly slotSize: number;
  /** Byte offset of slot 0 (slot `i` is at `dataOffset + i × slotSize`). */
  readonly dataOffset: number;
  /** Whether double frees are detected. */
  readonly debug: boolean;
  /** Per-slot meta arrays. */
  readonly meta: SlotMeta;
  /** The batch descriptors packets travel in. */
  readonly batches: BatchTable;
  /** Where everything lives. */
  readonly layout: PoolLayout;
  private readonly hdr: Int32Array;
  private readonly ring: MpscRing;
  /** Debug mode: 1 while a slot is allocated, 0 while free. */
  private readonly state: Uint8Array;
  /** Chunk buffer for filtered frees (a pool object belongs to one thread). */
  private readonly scratch = new Uint32Array(SCRATCH);
  /** One-entry buffer for `alloc` and `free`. */
  private readonly single = new Uint32Array(1);

  private constructor(buffer: ArrayBufferLike, byteOffset: number, layout: PoolLayout, ring: MpscRing) {
    this.buffer = buffer;
    this.byteOffset = byteOffset;
    this.layout = layout;
    this.ring = ring;
    this.bytes = new Uint8Array(buffer, byteOffset, layout.byteLength);
    this.view = new DataView(buffer, byteOffset, layout.byteLength);
    this.hdr = new Int32Array(buffer, byteOffset, POOL_HEADER_BYTES / 4);
    this.slotCount = layout.slotCount;
    this.slotSize = layout.slotSize;
    this.dataOffset = layout.dataOffset;
    this.debug = (this.hdr[PoolWord.FLAGS] & POOL_FLAG_DEBUG) !== 0;
    const n = layout.slotCount;
    const o = layout.metaOffsets;
    const b = byteOffset;
    this.meta = {
      tsSec: new Uint32Array(buffer, b + o.tsSec, n),
      tsNsec: new Uint32Array(buffer, b + o.tsNsec, n),
      epoch: new Uint32Array(buffer, b + o.epoch, n),
    };
    this.state = new Uint8Array(buffer, b + o.state, n);
    this.batches = new BatchTable(buffer, b, layout);
  }

  /** Bytes a pool of `slotCount` slots of `slotSize` bytes (and a batch table as given) needs. */
  static byteLength(slotCount: number, slotSize = 2048, batchCount?: number, batchCapacity?: number): number {
    return poolLayout(slotCount, slotSize, batchCount, batchCapacity).byteLength;
  }

  /** Creates a pool with every slot free in a new `SharedArrayBuffer`. Throws a `RangeError` for unusable sizes. */
  static create(options: PacketPoolOptions): PacketPool {
    const layout = poolLayout(options.slotCount, options.slotSize ?? 2048, options.batchCount, options.batchCapacity);
    return PacketPool.createAt(new SharedArrayBuffer(layout.byteLength), 0, options);
  }

  /**
   * Formats a pool with every slot free at `byteOffset` (a multiple of 64) of `buffer`: a
   * `SharedArrayBuffer`, or an `ArrayBuffer` mapping a shared memory region that other processes
   * attach to. Do it before anyone attaches. Throws a `RangeError` for unusable sizes or when the
   * pool does not fit.
   */
  static createAt(buffer: ArrayBufferLike, byteOffset: number, options: PacketPoolOptions): PacketPool {
    const layout = poolLayout(options.slotCount, options.slotSize ?? 2048, options.batchCount, options.batchCapacity);
    checkPlacement(buffer, byteOffset, layout.byteLength);
    const hdr = new Int32Array(buffer, byteOffset, POOL_HEADER_BYTES / 4);
    hdr.fill(0);
    hdr[PoolWord.VERSION] = POOL_LAYOUT_VERSION;
    hdr[PoolWord.SLOT_COUNT] = layout.slotCount;
    hdr[PoolWord.SLOT_SIZE] = layout.slotSize;
    hdr[PoolWord.FLAGS] = options.debug ? POOL_FLAG_DEBUG : 0;
    hdr[PoolWord.RING_OFFSET] = layout.ringOffset;
    hdr[PoolWord.DATA_OFFSET] = layout.dataOffset;
    hdr[PoolWord.BATCH_COUNT] = layout.batchCount;
    hdr[PoolWord.BATCH_CAPACITY] = layout.batchCapacity;
    hdr[PoolWord.BATCH_OFFSET] = layout.batchOffset;
    hdr[PoolWord.POOL_ID] = (Math.random() * 0x7fffffff) | 1;
    new Uint32Array(buffer, byteOffset + layout.metaOffsets.epoch, layout.slotCount).fill(0);
    // Memory that held an earlier pool may still mark slots allocated: every slot starts free.
    new Uint8Array(buffer, byteOffset + layout.metaOffsets.state, layout.slotCount).fill(0);
    const ring = MpscRing.createAt(buffer, byteOffset + layout.ringOffset, layout.ringCapacity);
    const all = new Uint32Array(Math.min(layout.slotCount, 4096));
    for (let first = 0; first < layout.slotCount; first += all.length) {
      const n = Math.min(all.length, layout.slotCount - first);
      for (let k = 0; k < n; k++) all[k] = first + k;
      ring.enqueueBurst(all, n);
    }
    // The magic goes last, so a concurrent attach never sees a half-built pool as valid.
    Atomics.store(hdr, PoolWord.MAGIC, POOL_MAGIC);
    return new PacketPool(buffer, byteOffset, layout, ring);
  }

  /**
   * Builds this thread's (or process's) view of a pool another one created at `byteOffset` of
   * `buffer`; throws when none is there.
   */
  static attach(buffer: ArrayBufferLike, byteOffset = 0): PacketPool {
    checkPlacement(buffer, byteOffset, POOL_HEADER_BYTES);
    const hdr = new Int32Array(buffer, byteOffset, POOL_HEADER_BYTES / 4);
    const magic = Atomics.load(hdr, PoolWord.MAGIC);
    if (magic !== POOL_MAGIC) throw new Error(`no packet pool in this buffer: magic is 0x${(magic >>> 0).toString(16)}`);
    if (hdr[PoolWord.VERSION] !== POOL_LAYOUT_VERSION) {
      throw new Error(`packet pool has layout version ${hdr[PoolWord.VERSION]}; this code reads version ${POOL_LAYOUT_VERSION}`);
    }
    const layout = poolLayout(hdr[PoolWord.SLOT_COUNT], hdr[PoolWord.SLOT_SIZE], hdr[PoolWord.BATCH_COUNT], hdr[PoolWord.BATCH_CAPACITY]);
    if (byteOffset + layout.byteLength > buffer.byteLength || hdr[PoolWord.DATA_OFFSET] !== layout.dataOffset || hdr[PoolWord.BATCH_OFFSET] !== layout.batchOffset) {
      throw new Error('packet pool header does not match its buffer (corrupt or truncated)');
    }
    return new PacketPool(buffer, byteOffset, layout, MpscRing.attach(buffer, byteOffset + layout.ringOffset));
  }

  /**
   * Asks every receiver into this pool to bump a slot's epoch for each packet it puts there (see
   * {@link SlotMeta.epoch}); call it before keeping any state by (slot, epoch). Stays on.
   */
  trackEpochs(): void {
    Atomics.or(this.hdr, PoolWord.FLAGS, POOL_FLAG_EPOCHS);
  }

  /** Whether {@link PacketPool.trackEpochs} was called (by any thread or process). */
  get tracksEpochs(): boolean {
    return (Atomics.load(this.hdr, PoolWord.FLAGS) & POOL_FLAG_EPOCHS) !== 0;
  }

  /** This pool's id ({@link PoolWord.POOL_ID}): random, non-zero, fixed when it was formatted. */
  get id(): number {
    return this.hdr[PoolWord.POOL_ID];
  }

  /** Byte offset of slot `slot` in {@link PacketPool.bytes} / {@link PacketPool.view}. */
  slotOffset(slot: number): number {
    return this.dataOffset + slot * this.slotSize;
  }

  /**
   * Allocates up to `n` slots (at most `out.length`) into `out[0..]` and returns how many; slots not
   * given because the pool ran out are counted in `allocFailures`. Each slot's meta is zeroed. Call
   * from one thread at a time.
   */
  allocBurst(out: Uint32Array, n: number): number {
    if (!(n > 0)) return 0;
    const want = n < out.length ? n : out.length;
    const got = this.ring.dequeueBurst(out, want);
    if (got < want) Atomics.add(this.hdr, PoolWord.ALLOC_FAILURES, want - got);
    const m = this.meta;
    for (let k = 0; k < got; k++) {
      const s = out[k];
      m.tsSec[s] = 0;
      m.tsNsec[s] = 0;
      const e = (m.epoch[s] + 1) >>> 0;
      m.epoch[s] = e === 0 ? 1 : e;
    }
    if (this.debug) for (let k = 0; k < got; k++) Atomics.store(this.state, out[k], 1);
    return got;
  }

  /** Allocates one slot; returns its index, or -1 (counted) when the pool is empty. */
  alloc(): number {
    const one = this.single;
    return this.allocBurst(one, 1) === 1 ? one[0] : -1;
  }

  /**
   * Returns `slots[0..n)` (at most `slots.length`) to the pool from any thread, and returns how many
   * were taken back. Indices outside the pool are ignored and counted; in debug mode so are slots
   * that are not allocated (double frees).
   */
  freeBurst(slots: Uint32Array, n: number): number {
    if (!(n > 0)) return 0;
    const want = n < slots.length ? n : slots.length;
    if (!this.debug) {
      let valid = true;
      for (let k = 0; k < want; k++) {
        if (slots[k] >= this.slotCount) {
          valid = false;
          break;
        }
      }
      if (valid) return this.enqueueFree(slots, want);
    }
    return this.freeFiltered(slots, want);
  }

  /** Returns one slot to the pool; false when it was rejected (and counted). */
  free(slot: number): boolean {
    if (!(slot >= 0 && slot < this.slotCount && slot === Math.floor(slot))) {
      Atomics.add(this.hdr, PoolWord.INVALID_INDICES, 1);
      return false;
    }
    const one = this.single;
    one[0] = slot;
    return this.freeFiltered(one, 1) === 1;
  }

  /** Free slots right now (a snapshot). */
  get available(): number {
    return this.ring.count;
  }

  /** A snapshot of the counters (shared by every thread's view of the pool). */
  stats(): PoolStats {
    const h = this.hdr;
    return {
      slotCount: this.slotCount,
      available: this.ring.count,
      // Counters wrap modulo 2^32; read them as unsigned.
      allocFailures: Atomics.load(h, PoolWord.ALLOC_FAILURES) >>> 0,
      doubleFrees: Atomics.load(h, PoolWord.DOUBLE_FREES) >>> 0,
      invalidIndices: Atomics.load(h, PoolWord.INVALID_INDICES) >>> 0,
      freeOverflows: Atomics.load(h, PoolWord.FREE_OVERFLOWS) >>> 0,
    };
  }

  /** Frees after checking each index (and, in debug mode, each slot's state), in chunks. */
  private freeFiltered(slots: Uint32Array, want: number): number {
    const scratch = this.scratch;
    const state = this.state;
    const debug = this.debug;
    let invalid = 0;
    let doubles = 0;
    let freed = 0;
    let k = 0;
    while (k < want) {
      let c = 0;
      for (; k < want && c < SCRATCH; k++) {
        const s = slots[k];
        if (s >= this.slotCount) invalid++;
        else if (debug && Atomics.compareExchange(state, s, 1, 0) !== 1) doubles++;
        else scratch[c++] = s;
      }
      freed += this.enqueueFree(scratch, c);
    }
    if (invalid > 0) Atomics.add(this.hdr, PoolWord.INVALID_INDICES, invalid);
    if (doubles > 0) Atomics.add(this.hdr, PoolWord.DOUBLE_FREES, doubles);
    return freed;
  }

  /** Puts validated indices on the free list; what does not fit is counted as overflow. */
  private enqueueFree(src: Uint32Array, n: number): number {
    const m = this.ring.enqueueBurst(src, n);
    if (m < n) Atomics.add(this.hdr, PoolWord.FREE_OVERFLOWS, n - m);
    return m;
  }
}
