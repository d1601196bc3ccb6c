/**
 * Lock-free single-producer single-consumer ring of u32 entries over a `SharedArrayBuffer` or an
 * `ArrayBuffer` mapping shared memory: the producer and the consumer may be different threads
 * (`worker_threads`) or processes, each with its own
 * {@link SpscRing} object over the same memory. Publication is one `Atomics.store` per burst on
 * each side; the other side's index is read only when the cached copy cannot satisfy a request.
 *
 * @module
 */

import { RingBase } from './ring-base.js';
import { RingKind, RingWord, checkRingCapacity, formatRing, readRingHeader, ringByteLength } from './layout.js';

const HEAD = RingWord.HEAD;
const TAIL = RingWord.TAIL;

/**
 * Single-producer single-consumer ring. Producer methods (`enqueue*`) must be called from one thread
 * at a time, consumer methods (`dequeue*`, `waitForData`) from one (possibly other) thread at a time.
 *
 * ```ts
 * const ring = SpscRing.create(1024);                       // in the main thread
 * new Worker(file, { workerData: { sab: ring.buffer, at: ring.byteOffset } });
 * const same = SpscRing.attach(workerData.sab, workerData.at); // in the worker
 * ```
 */
export class SpscRing extends RingBase {
  /** Producer's last seen TAIL; refreshed only when it does not leave room for a request. */
  private cachedTail: number;

  private constructor(buffer: ArrayBufferLike, byteOffset: number, capacity: number) {
    super(buffer, byteOffset, capacity);
    this.cachedTail = Atomics.load(this.hdr, TAIL);
  }

  /** Bytes a ring of `capacity` entries needs (to place several rings in one buffer). */
  static byteLength(capacity: number): number {
    return ringByteLength(capacity);
  }

  /** Creates an empty ring of `capacity` entries (a power of two) in a new `SharedArrayBuffer`. */
  static create(capacity: number): SpscRing {
    checkRingCapacity(capacity);
    return SpscRing.createAt(new SharedArrayBuffer(ringByteLength(capacity)), 0, capacity);
  }

  /**
   * Formats an empty ring of `capacity` entries at `byteOffset` (a multiple of 64) of `buffer`. Any
   * ring that was there is discarded: call it before other threads attach.
   */
  static createAt(buffer: ArrayBufferLike, byteOffset: number, capacity: number): SpscRing {
    formatRing(buffer, byteOffset, capacity, RingKind.SPSC);
    return new SpscRing(buffer, byteOffset, capacity);
  }

  /**
   * Builds this thread's view of the SPSC ring that another thread created at `byteOffset` of
   * `buffer`. Throws when no valid SPSC ring is there.
   */
  static attach(buffer: ArrayBufferLike, byteOffset = 0): SpscRing {
    return new SpscRing(buffer, byteOffset, readRingHeader(buffer, byteOffset, RingKind.SPSC));
  }

  /**
   * Enqueues `src[0..n)` (at most `src.length`) in order and returns how many fit: when the ring is
   * full the rest is not enqueued, and the caller counts it as dropped. Never blocks.
   */
  enqueueBurst(src: Uint32Array, n: number): number {
    const hdr = this.hdr;
    if (!(n > 0)) return 0;
    const want = n < src.length ? n : src.length;
    if (want === 0) return 0;
    const head = Atomics.load(hdr, HEAD);
    let room = this.capacity - ((head - this.cachedTail) | 0);
    if (room < want) {
      this.cachedTail = Atomics.load(hdr, TAIL);
      room = this.capacity - ((head - this.cachedTail) | 0);
      if (room <= 0) return 0;
    }
    const m = want < room ? want : room;
    const slots = this.slots;
    const start = head & this.mask;
    const first = this.capacity - start < m ? this.capacity - start : m;
    let k = 0;
    for (; k < first; k++) slots[start + k] = src[k];
    for (; k < m; k++) slots[k - first] = src[k];
    Atomics.store(hdr, HEAD, (head + m) | 0);
    this.wakeConsumer();
    return m;
  }

  /** Enqueues one entry (an unsigned 32-bit value); false when the ring is full. */
  enqueue(value: number): boolean {
    const hdr = this.hdr;
    const head = Atomics.load(hdr, HEAD);
    if (((head - this.cachedTail) | 0) >= this.capacity) {
      this.cachedTail = Atomics.load(hdr, TAIL);
      if (((head - this.cachedTail) | 0) >= this.capacity) return false;
    }
    this.slots[head & this.mask] = value;
    Atomics.store(hdr, HEAD, (head + 1) | 0);
    this.wakeConsumer();
    return true;
  }

  /** SPSC producers advance HEAD directly. */
  protected get producerWord(): number {
    return HEAD;
  }
}
