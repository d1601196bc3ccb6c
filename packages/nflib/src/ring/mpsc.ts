/**
 * Multi-producer single-consumer ring: several threads (NFs feeding one manager queue, or many
 * threads freeing pool slots) enqueue into one ring. Producers claim a range of slots by
 * compare-and-swap on the RESERVE word, fill it, and publish claims in claim order on HEAD, as
 * DPDK's `rte_ring` does; the consumer side is the same as {@link SpscRing}'s.
 *
 * A producer that is descheduled between its claim and its publication holds up later producers'
 * publication (not their claims) until it runs again; they spin briefly, then sleep in short
 * slices (`Atomics.wait`, or a plain sleep over mapped shared memory) so they do not burn a core
 * meanwhile.
 *
 * @module
 */

import { RingBase } from './ring-base.js';
import { RingKind, RingWord, checkRingCapacity, formatRing, readRingHeader, ringByteLength } from './layout.js';
import { sleepSync } from './sleep.js';

const HEAD = RingWord.HEAD;
const RESERVE = RingWord.RESERVE;
const TAIL = RingWord.TAIL;
/** Spins on an earlier producer's publication before sleeping. */
const PUBLISH_SPINS = 1024;
/** Sleep slice (ms) while an earlier producer has not published yet. */
const PUBLISH_SLEEP_MS = 0.05;
/** `claim` result for a full ring: never an index, which is read from an Int32Array. */
const CLAIM_FAILED = 0x100000000;

/** Multi-producer single-consumer ring; producer methods may be called from any number of threads. */
export class MpscRing extends RingBase {
  /** This object's last seen TAIL; refreshed only when it does not leave room for a claim. */
  private cachedTail: number;
  /** Size of the last successful claim, set by `claim` (saves returning a pair). */
  private claimed = 0;

  private constructor(buffer: ArrayBufferLike, byteOffset: number, capacity: number) {
    super(buffer, byteOffset, capacity);
    this.cachedTail = Atomics.load(this.hdr, TAIL);
  }

  /** Bytes a ring of `capacity` entries needs. */
  static byteLength(capacity: number): number {
    return ringByteLength(capacity);
  }

  /** Creates an empty ring of `capacity` entries (a power of two) in a new `SharedArrayBuffer`. */
  static create(capacity: number): MpscRing {
    checkRingCapacity(capacity);
    return MpscRing.createAt(new SharedArrayBuffer(ringByteLength(capacity)), 0, capacity);
  }

  /** Formats an empty ring at `byteOffset` (a multiple of 64) of `buffer`, before others attach. */
  static createAt(buffer: ArrayBufferLike, byteOffset: number, capacity: number): MpscRing {
    formatRing(buffer, byteOffset, capacity, RingKind.MPSC);
    return new MpscRing(buffer, byteOffset, capacity);
  }

  /** Builds this thread's view of the MPSC ring at `byteOffset` of `buffer`; throws when none is there. */
  static attach(buffer: ArrayBufferLike, byteOffset = 0): MpscRing {
    return new MpscRing(buffer, byteOffset, readRingHeader(buffer, byteOffset, RingKind.MPSC));
  }

  /**
   * Enqueues `src[0..n)` (at most `src.length`) in order, as one contiguous run, and returns how many
   * fit; the caller counts the rest as dropped. Never waits for space, only (briefly) for earlier
   * producers to publish.
   */
  enqueueBurst(src: Uint32Array, n: number): number {
    if (!(n > 0)) return 0;
    const want = n < src.length ? n : src.length;
    if (want === 0) return 0;
    const start = this.claim(want);
    if (start === CLAIM_FAILED) return 0;
    const m = this.claimed;
    const slots = this.slots;
    const at = start & this.mask;
    const first = this.capacity - at < m ? this.capacity - at : m;
    let k = 0;
    for (; k < first; k++) slots[at + k] = src[k];
    for (; k < m; k++) slots[k - first] = src[k];
    this.publish(start, m);
    return m;
  }

  /** Enqueues one entry (an unsigned 32-bit value); false when the ring is full. */
  enqueue(value: number): boolean {
    const start = this.claim(1);
    if (start === CLAIM_FAILED) return false;
    this.slots[start & this.mask] = value;
    this.publish(start, 1);
    return true;
  }

  /** Claims up to `want` slots; returns the first index (and sets `claimed`), or CLAIM_FAILED when full. */
  private claim(want: number): number {
    const hdr = this.hdr;
    for (;;) {
      const r = Atomics.load(hdr, RESERVE);
      let room = this.capacity - ((r - this.cachedTail) | 0);
      if (room < want) {
        this.cachedTail = Atomics.load(hdr, TAIL);
        room = this.capacity - ((r - this.cachedTail) | 0);
        if (room <= 0) return CLAIM_FAILED;
      }
      const m = want < room ? want : room;
      if (Atomics.compareExchange(hdr, RESERVE, r, (r + m) | 0) === r) {
        this.claimed = m;
        return r;
      }
    }
  }

  /** Publishes `[start, start + m)` once every earlier claim is published, then wakes the consumer. */
  private publish(start: number, m: number): void {
    const hdr = this.hdr;
    let spins = 0;
    for (;;) {
      const h = Atomics.load(hdr, HEAD);
      if (h === start) break;
      if (++spins > PUBLISH_SPINS) {
        // Over mapped shared memory there is no Atomics.wait: sleep the slice and look again.
        if (this.shared) Atomics.wait(hdr, HEAD, h, PUBLISH_SLEEP_MS);
        else sleepSync(PUBLISH_SLEEP_MS);
      }
    }
    Atomics.store(hdr, HEAD, (start + m) | 0);
    this.wakeConsumer();
  }

  /** MPSC producers advance RESERVE first. */
  protected get producerWord(): number {
    return RESERVE;
  }
}
