/**
 * The memory layout of a gnet ring: a stable contract, version {@link RING_LAYOUT_VERSION}. Any code
 * that follows it (a worker written in plain JS, another language over shared memory) can produce
 * into or consume from a ring created by {@link SpscRing} or {@link MpscRing}.
 *
 * A ring occupies `RING_HEADER_BYTES + 4 × capacity` bytes of a `SharedArrayBuffer` (threads of one
 * process) or of an `ArrayBuffer` that maps shared memory (processes sharing a region from
 * `@gnet/manager-native`), starting at a byte offset that is a multiple of 64. All words are
 * native-endian 32-bit integers accessed
 * through an `Int32Array` (header) and a `Uint32Array` (entries). Index words hold free-running
 * unsigned 32-bit counters that wrap modulo 2^32; entry `i` lives in slot `i & (capacity − 1)`.
 *
 * | byte | word | name | meaning |
 * | --- | --- | --- | --- |
 * | 0 | 0 | MAGIC | {@link RING_MAGIC} |
 * | 4 | 1 | VERSION | {@link RING_LAYOUT_VERSION} |
 * | 8 | 2 | KIND | {@link RingKind}: 1 single-producer, 2 multi-producer |
 * | 12 | 3 | CAPACITY | entries, a power of two |
 * | 16 | 4 | FLAGS | bit 0: closed by a producer (no more entries will come) |
 * | 128 | 32 | HEAD | published producer index: entries `[TAIL, HEAD)` are readable |
 * | 132 | 33 | RESERVE | multi-producer only: next index a producer may claim (≥ HEAD) |
 * | 256 | 64 | TAIL | consumer index: slots before it may be reused |
 * | 384 | 96 | DOORBELL | bumped by producers to wake a sleeping consumer |
 * | 388 | 97 | SLEEPING | 1 while the consumer is about to sleep or sleeping on DOORBELL |
 * | 512 | — | slots | `capacity` unsigned 32-bit entries |
 *
 * Producer and consumer words sit 128 bytes apart so that neither side's writes invalidate the cache
 * line (or the adjacent line the prefetcher pairs with it) that the other side polls.
 *
 * Protocol (all header accesses are `Atomics` operations, which are sequentially consistent):
 * - single producer: with `n ≤ CAPACITY − (HEAD − TAIL)`, write the slots of `[HEAD, HEAD + n)` with
 *   plain stores, then `Atomics.store(HEAD, HEAD + n)`: that store publishes the slot writes.
 * - multi-producer: claim `[r, r + n)` by `Atomics.compareExchange(RESERVE, r, r + n)` after the same
 *   space check (against RESERVE), write the slots, wait until `HEAD === r` (earlier claims are
 *   published in order), then `Atomics.store(HEAD, r + n)`.
 * - after publishing, a producer that reads `SLEEPING !== 0` does `Atomics.add(DOORBELL, 1)` and
 *   `Atomics.notify(DOORBELL)`.
 * - the single consumer reads `HEAD` with `Atomics.load`, reads slots `[TAIL, HEAD)`, then
 *   `Atomics.store(TAIL, …)` to hand the slots back.
 * - to sleep, the consumer reads `d = DOORBELL`, stores `SLEEPING = 1`, re-checks `HEAD !== TAIL`
 *   and FLAGS, and only if still empty calls `Atomics.wait(DOORBELL, d, timeout)`; then stores
 *   `SLEEPING = 0`. With sequentially consistent atomics either the consumer sees the new HEAD or the
 *   producer sees SLEEPING, so no wake-up is lost.
 *
 * Over an `ArrayBuffer` (shared memory mapped from another process) `Atomics.wait/notify` are not
 * available: the consumer sleep-polls HEAD and FLAGS in short slices instead of waiting on
 * DOORBELL (producers still bump it; nobody is woken), and an MPSC producer waiting for an earlier
 * claim's publication sleeps the same way. The other `Atomics` operations work on non-shared
 * integer arrays and compile to the same instructions; the protocol relies on that, and on x86-64's
 * total store order, under which those locked/ordered accesses order the plain slot accesses around
 * them across processes exactly as they do across threads. Other architectures would need a
 * barrier that JavaScript does not offer for non-shared memory: multi-process mode is x86-64 only.
 *
 * @module
 */

import { isSharedBuffer } from './sleep.js';

/** `GNRG` in ASCII: the first header word of every ring. */
export const RING_MAGIC = 0x474e5247;
/** The layout version this module describes. */
export const RING_LAYOUT_VERSION = 1;
/** Bytes before the first slot. */
export const RING_HEADER_BYTES = 512;
/** Required alignment of a ring's byte offset (one cache line). */
export const RING_ALIGN = 64;
/** Largest capacity (entries) a ring may have. */
export const RING_MAX_CAPACITY = 1 << 28;

/** Indices of the header words in the ring's `Int32Array` header view. */
export const RingWord = {
  /** {@link RING_MAGIC}. */
  MAGIC: 0,
  /** {@link RING_LAYOUT_VERSION}. */
  VERSION: 1,
  /** {@link RingKind}. */
  KIND: 2,
  /** Capacity in entries. */
  CAPACITY: 3,
  /** {@link RING_FLAG_CLOSED} and future flags. */
  FLAGS: 4,
  /** Published producer index. */
  HEAD: 32,
  /** Multi-producer claim index. */
  RESERVE: 33,
  /** Consumer index. */
  TAIL: 64,
  /** Consumer wake-up counter. */
  DOORBELL: 96,
  /** Consumer sleeping flag. */
  SLEEPING: 97,
} as const;

/** Number of 32-bit words in the header. */
export const RING_HEADER_WORDS = RING_HEADER_BYTES / 4;

/** FLAGS bit: a producer closed the ring; the consumer drains what is left and stops. */
export const RING_FLAG_CLOSED = 1;

/** Producer discipline of a ring, stored in its KIND word. */
export const RingKind = {
  /** One producer thread. */
  SPSC: 1,
  /** Any number of producer threads (claims by compare-and-swap). */
  MPSC: 2,
} as const;

/** One of the {@link RingKind} values. */
export type RingKindCode = (typeof RingKind)[keyof typeof RingKind];

/** Bytes a ring of `capacity` entries occupies. */
export function ringByteLength(capacity: number): number {
  checkRingCapacity(capacity);
  return RING_HEADER_BYTES + capacity * 4;
}

/** Throws a `RangeError` unless `capacity` is a power of two in `[2, RING_MAX_CAPACITY]`. */
export function checkRingCapacity(capacity: number): void {
  if (!Number.isInteger(capacity) || capacity < 2 || capacity > RING_MAX_CAPACITY || (capacity & (capacity - 1)) !== 0) {
    throw new RangeError(`ring capacity must be a power of two between 2 and ${RING_MAX_CAPACITY}, got ${capacity}`);
  }
}

/** The smallest power of two ≥ `n` (and ≥ 2), for sizing a ring to hold `n` entries. */
export function ringCapacityFor(n: number): number {
  let c = 2;
  while (c < n) c *= 2;
  return c;
}

/** Throws unless a ring fits at `byteOffset` of `buffer`. */
function checkPlacement(buffer: ArrayBufferLike, byteOffset: number, bytes: number): void {
  if (!(buffer instanceof ArrayBuffer) && !isSharedBuffer(buffer)) {
    throw new TypeError('a ring lives in a SharedArrayBuffer or an ArrayBuffer mapping shared memory');
  }
  if (!Number.isInteger(byteOffset) || byteOffset < 0 || byteOffset % RING_ALIGN !== 0) {
    throw new RangeError(`ring byteOffset must be a non-negative multiple of ${RING_ALIGN}, got ${byteOffset}`);
  }
  if (byteOffset + bytes > buffer.byteLength) {
    throw new RangeError(
      `a ring of ${bytes} bytes at byte ${byteOffset} does not fit in a buffer of ${buffer.byteLength} bytes`,
    );
  }
}

/**
 * Writes a fresh, empty ring header of `kind` and `capacity` at `byteOffset` of `buffer` (the slots
 * are left as they are). Do this once, before any other thread attaches.
 */
export function formatRing(buffer: ArrayBufferLike, byteOffset: number, capacity: number, kind: RingKindCode): void {
  checkRingCapacity(capacity);
  checkPlacement(buffer, byteOffset, ringByteLength(capacity));
  const hdr = new Int32Array(buffer, byteOffset, RING_HEADER_WORDS);
  hdr.fill(0);
  hdr[RingWord.VERSION] = RING_LAYOUT_VERSION;
  hdr[RingWord.KIND] = kind;
  hdr[RingWord.CAPACITY] = capacity;
  // The magic goes last, so a concurrent attach never sees a half-written header as valid.
  Atomics.store(hdr, RingWord.MAGIC, RING_MAGIC);
}

/**
 * Checks the header at `byteOffset` of `buffer` against the layout and `kind`, and returns the
 * ring's capacity. Throws an `Error` that says what does not match.
 */
export function readRingHeader(buffer: ArrayBufferLike, byteOffset: number, kind: RingKindCode): number {
  checkPlacement(buffer, byteOffset, RING_HEADER_BYTES);
  const hdr = new Int32Array(buffer, byteOffset, RING_HEADER_WORDS);
  const magic = Atomics.load(hdr, RingWord.MAGIC);
  if (magic !== RING_MAGIC) {
    throw new Error(`no ring at byte ${byteOffset}: magic is 0x${(magic >>> 0).toString(16)}, expected 0x${RING_MAGIC.toString(16)}`);
  }
  const version = hdr[RingWord.VERSION];
  if (version !== RING_LAYOUT_VERSION) {
    throw new Error(`ring at byte ${byteOffset} has layout version ${version}; this code reads version ${RING_LAYOUT_VERSION}`);
  }
  const found = hdr[RingWord.KIND];
  if (found !== kind) {
    throw new Error(`ring at byte ${byteOffset} is ${kindName(found)}, not ${kindName(kind)}`);
  }
  const capacity = hdr[RingWord.CAPACITY];
  checkRingCapacity(capacity);
  checkPlacement(buffer, byteOffset, ringByteLength(capacity));
  return capacity;
}

/** A readable name for a KIND word. */
function kindName(kind: number): string {
  if (kind === RingKind.SPSC) return 'a single-producer (SPSC) ring';
  if (kind === RingKind.MPSC) return 'a multi-producer (MPSC) ring';
  return `of unknown kind ${kind}`;
}
