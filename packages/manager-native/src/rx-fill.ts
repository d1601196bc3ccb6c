/**
 * The manager's receive path for a whole burst in one native call: {@link createRxFill} binds the
 * packet pool's arrays once, and each {@link RxFill.fill} then takes a burst of frames into free pool
 * slots (the copy, the batch descriptor's entries, the slot's timestamp and epoch, the flow hash),
 * as `@gnet/nflib`'s `RxFiller.push` does frame by frame in JavaScript. One call per burst instead of
 * a JavaScript loop per frame.
 *
 * @module
 */
import { loadNative } from './loader.js';

/** Words of {@link RxFillArrays.io}: the burst's state, read and updated by {@link RxFill.fill}. */
export const RxFillIo = {
  /** In: the descriptor's first entry in the batch table. */
  BASE: 0,
  /** In: frames the burst may hold. */
  MAX: 1,
  /** In/out: frames taken into the burst so far. */
  COUNT: 2,
  /** In/out: free slots in `cache[0, n)`; a frame takes the last. */
  CACHE_COUNT: 3,
  /** In: the port id written into each entry. */
  PORT: 4,
  /** In: byte offset of slot 0 in the pool. */
  DATA_OFFSET: 5,
  /** In: bytes per slot. */
  SLOT_SIZE: 6,
  /** In: the frames' receive time, seconds and nanoseconds. */
  TS_SEC: 7,
  TS_NSEC: 8,
  /** In: non-zero to bump each filled slot's epoch. */
  EPOCHS: 9,
  /** Out (added to): bytes taken. */
  BYTES: 10,
  /** Out (added to): frames refused as malformed (under 14 bytes, longer than a slot, past the source). */
  INVALID: 11,
  /** Out (added to): frames refused for want of a free slot or of room in the burst. */
  NO_BUFFER: 12,
  /** Words in the array. */
  WORDS: 13,
} as const;

/** The arrays an {@link RxFill} writes: the pool's bytes and batch table, the free-slot cache, its state. */
export interface RxFillArrays {
  /** The pool's bytes (slots start at `io[DATA_OFFSET]`). */
  pool: Uint8Array;
  /** Free slot indices (a stack: the last is taken first). */
  cache: Uint32Array;
  /** The manager's private copy of each batch-table entry's slot. */
  slotOf: Uint32Array;
  /** Batch table: slot, offset, length, flow hash and port of each entry. */
  tSlot: Uint32Array;
  tOffset: Uint32Array;
  tLength: Uint32Array;
  tFlowHash: Uint32Array;
  tPort: Uint16Array;
  /** Per slot: receive time and epoch. */
  tsSec: Uint32Array;
  tsNsec: Uint32Array;
  epoch: Uint32Array;
  /** {@link RxFillIo} words. */
  io: Uint32Array;
}

/** A bound receive filler; see the module comment. */
export interface RxFill {
  /**
   * Takes `count` frames, frame `i` being bytes `[offsets[i], offsets[i] + lengths[i])` of `src`, into
   * the burst that `io` describes, in order: each valid frame that finds a slot and room is copied
   * and described; the others are counted in `io[INVALID]` or `io[NO_BUFFER]`. Returns `count`.
   * The flow hash is nflib's `hashTuple` over the IPv4 or IPv6 5-tuple (behind one VLAN tag or none),
   * 0 for other frames. Frame `i` was received at `tsSec[i]` s + `tsNsec[i]` ns when those are given,
   * else at `io[TS_SEC]`, `io[TS_NSEC]`.
   */
  fill(src: Uint8Array, offsets: Uint32Array, lengths: Uint32Array, count: number, tsSec?: Uint32Array, tsNsec?: Uint32Array): number;
}

type RxFillCtor = new (...arrays: (Uint8Array | Uint16Array | Uint32Array)[]) => RxFill;

/**
 * Binds `a` (kept alive as long as the filler is). The arrays must not be replaced afterwards.
 * @throws Error when the addon cannot load or predates this call; TypeError or RangeError for arrays
 * of the wrong type or too short.
 */
export function createRxFill(a: RxFillArrays): RxFill {
  const Ctor = (loadNative() as unknown as { RxFill?: RxFillCtor }).RxFill;
  if (typeof Ctor !== 'function') throw new Error('RxFill: the loaded gnet addon predates this call; rebuild it (npm run build, or npm rebuild @gnet/manager-native)');
  return new Ctor(a.pool, a.cache, a.slotOf, a.tSlot, a.tOffset, a.tLength, a.tFlowHash, a.tPort, a.tsSec, a.tsNsec, a.epoch, a.io);
}
