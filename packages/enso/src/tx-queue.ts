/**
 * The NIC's queue of transmit requests that could not leave at once (rate limiting, or requests
 * queued behind those). Enso's TX notification queue, in typed arrays: each entry is a source id,
 * the next byte to send, the end of the request and its total size. Completed in FIFO order.
 *
 * @module
 */

/** FIFO of pending transmit requests; grows as needed. */
export class TxRequestQueue {
  private sources = new Int32Array(64);
  private cursors = new Float64Array(64);
  private ends = new Float64Array(64);
  private sizes = new Float64Array(64);
  private first = 0;
  private count = 0;

  /** Number of pending requests. */
  get length(): number {
    return this.count;
  }

  /** Appends a request to send bytes `[start, start + size)` of source `source`. */
  push(source: number, start: number, size: number): void {
    if (this.count === this.sources.length) this.grow();
    const i = (this.first + this.count) % this.sources.length;
    this.sources[i] = source;
    this.cursors[i] = start;
    this.ends[i] = start + size;
    this.sizes[i] = size;
    this.count++;
  }

  /** Source id of the oldest request (queue must not be empty). */
  headSource(): number {
    return this.sources[this.first];
  }

  /** Next byte to send of the oldest request. */
  headCursor(): number {
    return this.cursors[this.first];
  }

  /** End (exclusive) of the oldest request. */
  headEnd(): number {
    return this.ends[this.first];
  }

  /** Total bytes of the oldest request. */
  headSize(): number {
    return this.sizes[this.first];
  }

  /** Records how far the oldest request got. */
  setHeadCursor(cursor: number): void {
    this.cursors[this.first] = cursor;
  }

  /** Removes the oldest request. */
  shift(): void {
    this.first = (this.first + 1) % this.sources.length;
    this.count--;
  }

  /** Removes every request of `source`; returns the bytes they still had to send. */
  discardSource(source: number): number {
    let dropped = 0;
    let kept = 0;
    const n = this.sources.length;
    for (let k = 0; k < this.count; k++) {
      const i = (this.first + k) % n;
      if (this.sources[i] === source) {
        dropped += this.ends[i] - this.cursors[i];
        continue;
      }
      const j = (this.first + kept) % n;
      this.sources[j] = this.sources[i];
      this.cursors[j] = this.cursors[i];
      this.ends[j] = this.ends[i];
      this.sizes[j] = this.sizes[i];
      kept++;
    }
    this.count = kept;
    return dropped;
  }

  private grow(): void {
    const n = this.sources.length;
    const sources = new Int32Array(n * 2);
    const cursors = new Float64Array(n * 2);
    const ends = new Float64Array(n * 2);
    const sizes = new Float64Array(n * 2);
    for (let k = 0; k < this.count; k++) {
      const i = (this.first + k) % n;
      sources[k] = this.sources[i];
      cursors[k] = this.cursors[i];
      ends[k] = this.ends[i];
      sizes[k] = this.sizes[i];
    }
    this.sources = sources;
    this.cursors = cursors;
    this.ends = ends;
    this.sizes = sizes;
    this.first = 0;
  }
}
