/**
 * A short synchronous sleep for code that polls memory it cannot wait on: `Atomics.wait` needs a
 * `SharedArrayBuffer`, and rings in a shared memory region mapped from another process live in a
 * plain `ArrayBuffer`. Waiting on a private word that nobody notifies sleeps the thread for the
 * timeout, with the kernel's timer resolution (tens of microseconds on Linux).
 *
 * @module
 */

/** A word no one ever notifies: waits on it always time out. */
const nap = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the calling thread for about `ms` milliseconds (fractions allowed); returns at once for `ms <= 0`. */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(nap, 0, 0, ms);
}

/** True when `buffer` is a `SharedArrayBuffer`, so `Atomics.wait/notify` work on views of it. */
export function isSharedBuffer(buffer: ArrayBufferLike): buffer is SharedArrayBuffer {
  return typeof SharedArrayBuffer === 'function' && buffer instanceof SharedArrayBuffer;
}
