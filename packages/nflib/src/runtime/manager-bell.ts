/**
 * The manager's doorbell: how NF threads wake a manager that sleeps while every packet in flight is
 * with them. On a machine with more busy threads than cores, a manager that keeps polling empty
 * rings takes a core from the NFs it waits for; so, there, it sleeps on this bell between batches
 * and an NF that hands a batch back rings it. Embedded mode only: `Atomics.wait` needs a
 * SharedArrayBuffer, and a multi-process region is mapped as a plain ArrayBuffer.
 *
 * Lost wake-ups cannot happen: the manager raises SLEEPING before its last look at the rings, an NF
 * publishes its batch before it looks at SLEEPING, and both are sequentially consistent atomics.
 * @module
 */

/** Int32 words of the bell. */
const SLEEPING = 0;
const DOORBELL = 1;

/** Bytes of a bell's buffer. */
export const MANAGER_BELL_BYTES = 64;

/** Both sides of the manager's doorbell over one SharedArrayBuffer. */
export class ManagerBell {
  /** The bell's memory (handed to NF threads in their attach record). */
  readonly buffer: SharedArrayBuffer;
  private readonly words: Int32Array;

  /** A new bell, or this thread's view of `buffer`. */
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(MANAGER_BELL_BYTES)) {
    this.buffer = buffer;
    this.words = new Int32Array(buffer, 0, 2);
  }

  /** NF side, after publishing a batch: wakes the manager if it sleeps. */
  ring(): void {
    if (Atomics.load(this.words, SLEEPING) !== 0) {
      Atomics.add(this.words, DOORBELL, 1);
      Atomics.notify(this.words, DOORBELL, 1);
    }
  }

  /**
   * Manager side: sleeps until an NF rings or `timeoutMs` passes, unless `hasWork()` (called once
   * the bell is armed) finds something already waiting. Blocks the calling thread.
   */
  sleep(timeoutMs: number, hasWork: () => boolean): void {
    const w = this.words;
    const bell = Atomics.load(w, DOORBELL);
    Atomics.store(w, SLEEPING, 1);
    if (!hasWork()) Atomics.wait(w, DOORBELL, bell, timeoutMs);
    Atomics.store(w, SLEEPING, 0);
  }
}
