/**
 * What every gnet ring shares: the single consumer's side (burst dequeue, the doorbell sleep), the
 * counters, and closing. Producer disciplines differ and live in the subclasses.
 *
 * @module
 */

import { RING_FLAG_CLOSED, RING_HEADER_BYTES, RING_HEADER_WORDS, RingWord } from './layout.js';
import { isSharedBuffer, sleepSync } from './sleep.js';

const HEAD = RingWord.HEAD;
const TAIL = RingWord.TAIL;
const FLAGS = RingWord.FLAGS;
const DOORBELL = RingWord.DOORBELL;
const SLEEPING = RingWord.SLEEPING;
/** First sleep-poll slice (ms) of {@link RingBase.waitForData} over a non-shared buffer. */
const POLL_MIN_MS = 0.05;
/** Longest sleep-poll slice (ms): bounds the wake-up latency an idle consumer adds. */
const POLL_MAX_MS = 1;

/**
 * A ring of unsigned 32-bit entries in a `SharedArrayBuffer`, or in an `ArrayBuffer` mapping shared
 * memory (layout: see `ring/layout.ts`), seen from one thread. Each thread or process builds its own
 * object over the same memory with `attach`; the objects keep only local caches of the other side's
 * index.
 *
 * Consumer methods (`dequeue*`, `waitForData`) must be called from one thread at a time.
 */
export abstract class RingBase {
  /** The shared memory holding the ring. */
  readonly buffer: ArrayBufferLike;
  /** True over a `SharedArrayBuffer` (the consumer sleeps on the doorbell), false over mapped shared memory (it sleep-polls). */
  readonly shared: boolean;
  /** Where the ring starts in {@link RingBase.buffer}. */
  readonly byteOffset: number;
  /** How many entries the ring holds at most (a power of two). */
  readonly capacity: number;
  /** `capacity − 1`, to map an index to its slot. */
  protected readonly mask: number;
  /** The header words. */
  protected readonly hdr: Int32Array;
  /** The entry slots. */
  protected readonly slots: Uint32Array;
  /** Consumer's last seen HEAD; refreshed only when it does not cover a request. */
  private cachedHead: number;

  /** Builds the view; subclasses validate or format the header first. */
  protected constructor(buffer: ArrayBufferLike, byteOffset: number, capacity: number) {
    this.buffer = buffer;
    this.shared = isSharedBuffer(buffer);
    this.byteOffset = byteOffset;
    this.capacity = capacity;
    this.mask = capacity - 1;
    this.hdr = new Int32Array(buffer, byteOffset, RING_HEADER_WORDS);
    this.slots = new Uint32Array(buffer, byteOffset + RING_HEADER_BYTES, capacity);
    this.cachedHead = Atomics.load(this.hdr, HEAD);
  }

  /**
   * Moves up to `max` entries (and at most `dst.length`) into `dst[0..]`, oldest first, and returns
   * how many. Returns 0 when the ring is empty; never blocks.
   */
  dequeueBurst(dst: Uint32Array, max: number): number {
    const hdr = this.hdr;
    if (!(max > 0)) return 0;
    const want = max < dst.length ? max : dst.length;
    if (want === 0) return 0;
    const tail = Atomics.load(hdr, TAIL);
    let avail = (this.cachedHead - tail) | 0;
    if (avail < want) {
      this.cachedHead = Atomics.load(hdr, HEAD);
      avail = (this.cachedHead - tail) | 0;
      if (avail <= 0) return 0;
    }
    const n = want < avail ? want : avail;
    const slots = this.slots;
    const start = tail & this.mask;
    const first = this.capacity - start < n ? this.capacity - start : n;
    let k = 0;
    for (; k < first; k++) dst[k] = slots[start + k];
    for (; k < n; k++) dst[k] = slots[k - first];
    Atomics.store(hdr, TAIL, (tail + n) | 0);
    return n;
  }

  /** Takes one entry; returns -1 when the ring is empty. */
  dequeue(): number {
    const hdr = this.hdr;
    const tail = Atomics.load(hdr, TAIL);
    if (((this.cachedHead - tail) | 0) <= 0) {
      this.cachedHead = Atomics.load(hdr, HEAD);
      if (this.cachedHead === tail) return -1;
    }
    const v = this.slots[tail & this.mask];
    Atomics.store(hdr, TAIL, (tail + 1) | 0);
    return v;
  }

  /** Entries published and not yet dequeued (a snapshot). */
  get count(): number {
    return (Atomics.load(this.hdr, HEAD) - Atomics.load(this.hdr, TAIL)) | 0;
  }

  /** Entries that can be enqueued right now (a snapshot; claims in flight count as used). */
  get free(): number {
    return this.capacity - ((Atomics.load(this.hdr, this.producerWord) - Atomics.load(this.hdr, TAIL)) | 0);
  }

  /** True when nothing is published and not yet dequeued. */
  get isEmpty(): boolean {
    return Atomics.load(this.hdr, HEAD) === Atomics.load(this.hdr, TAIL);
  }

  /** True once a producer called {@link RingBase.close}. */
  get closed(): boolean {
    return (Atomics.load(this.hdr, FLAGS) & RING_FLAG_CLOSED) !== 0;
  }

  /**
   * Marks the ring closed (no more entries will come) and wakes the consumer, which drains what is
   * left; enqueues still work, so a late producer loses nothing already in flight.
   */
  close(): void {
    Atomics.or(this.hdr, FLAGS, RING_FLAG_CLOSED);
    Atomics.add(this.hdr, DOORBELL, 1);
    if (this.shared) Atomics.notify(this.hdr, DOORBELL);
  }

  /**
   * Consumer side: sleeps on the doorbell until an entry is published, the ring is closed, or
   * `timeoutMs` passes. Returns true when entries are available (or the ring is closed), false on
   * timeout. Returns at once when there already is something. Blocks the calling thread. Over a
   * non-shared buffer it sleep-polls in slices of 0.05 ms growing to 1 ms, bounded by the timeout.
   */
  waitForData(timeoutMs: number): boolean {
    const hdr = this.hdr;
    if (!this.shared) return this.pollForData(timeoutMs);
    const bell = Atomics.load(hdr, DOORBELL);
    Atomics.store(hdr, SLEEPING, 1);
    if (Atomics.load(hdr, HEAD) === Atomics.load(hdr, TAIL) && (Atomics.load(hdr, FLAGS) & RING_FLAG_CLOSED) === 0) {
      Atomics.wait(hdr, DOORBELL, bell, timeoutMs);
    }
    Atomics.store(hdr, SLEEPING, 0);
    return Atomics.load(hdr, HEAD) !== Atomics.load(hdr, TAIL) || (Atomics.load(hdr, FLAGS) & RING_FLAG_CLOSED) !== 0;
  }

  /** `waitForData` without `Atomics.wait` on the ring: look, sleep a slice, look again. */
  private pollForData(timeoutMs: number): boolean {
    const hdr = this.hdr;
    // SLEEPING stays 0: no producer could wake this consumer, so none should pay for trying.
    const deadline = performance.now() + timeoutMs;
    let slice = POLL_MIN_MS;
    for (;;) {
      if (Atomics.load(hdr, HEAD) !== Atomics.load(hdr, TAIL) || (Atomics.load(hdr, FLAGS) & RING_FLAG_CLOSED) !== 0) return true;
      const left = deadline - performance.now();
      if (left <= 0) return false;
      sleepSync(slice < left ? slice : left);
      slice = slice * 2 < POLL_MAX_MS ? slice * 2 : POLL_MAX_MS;
    }
  }

  /** Header word that producers advance first (HEAD, or RESERVE for multi-producer rings). */
  protected abstract get producerWord(): number;

  /** Wakes the consumer if it sleeps; producers call it after publishing. */
  protected wakeConsumer(): void {
    const hdr = this.hdr;
    if (Atomics.load(hdr, SLEEPING) !== 0) {
      Atomics.add(hdr, DOORBELL, 1);
      if (this.shared) Atomics.notify(hdr, DOORBELL, 1);
    }
  }
}
