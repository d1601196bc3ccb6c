/**
 * Idle policy for a consumer polling a ring: spin (poll again at once) for a bounded number of empty
 * polls and a bounded time, then sleep on the ring's doorbell with a timeout that doubles up to a cap. A producer's
 * publication wakes the sleeper at once, so the sleep costs no latency when traffic resumes; the
 * timeout only bounds how long the consumer goes without looking at anything else it owns.
 *
 * @module
 */

import type { RingBase } from './ring-base.js';

/** Settings of an {@link IdleBackoff}. */
export interface IdleBackoffOptions {
  /** Empty polls answered by spinning before the first sleep (default 200). */
  spins?: number;
  /**
   * Microseconds of empty polls answered by spinning, counted from the first empty poll (default 0:
   * only `spins` counts). Waking a sleeping thread costs the producer a system call and the
   * consumer microseconds, so a consumer fed in bursts every few microseconds should stay awake
   * between them; an idle one still sleeps once this passes.
   */
  spinUs?: number;
  /** First sleep timeout in ms (default 0.05). */
  minSleepMs?: number;
  /** Largest sleep timeout in ms (default 10). */
  maxSleepMs?: number;
}

/**
 * Spin-then-sleep back-off for one consumer thread:
 *
 * ```ts
 * const idle = new IdleBackoff();
 * for (;;) {
 *   const n = ring.dequeueBurst(batch, 32);
 *   if (n > 0) { idle.reset(); handle(batch, n); }
 *   else if (ring.closed && ring.isEmpty) break;
 *   else idle.idle(ring);
 * }
 * ```
 */
export class IdleBackoff {
  /** Empty polls answered by spinning. */
  readonly spins: number;
  /** Microseconds of spinning before the first sleep (the owner may change it between polls). */
  spinUs: number;
  /** First sleep timeout in ms. */
  readonly minSleepMs: number;
  /** Largest sleep timeout in ms. */
  readonly maxSleepMs: number;
  /** Empty polls since the last {@link IdleBackoff.reset}. */
  private empty = 0;
  /** When the current idle period began (`performance.now()`), once `spins` were used. */
  private since = -1;
  /** Next sleep timeout in ms. */
  private sleepMs: number;
  /** Sleeps taken so far. */
  private sleepCount = 0;

  /** Throws a `RangeError` for negative or inverted settings. */
  constructor(options: IdleBackoffOptions = {}) {
    this.spins = options.spins ?? 200;
    this.spinUs = options.spinUs ?? 0;
    this.minSleepMs = options.minSleepMs ?? 0.05;
    this.maxSleepMs = options.maxSleepMs ?? 10;
    if (!(this.spins >= 0) || !(this.spinUs >= 0) || !(this.minSleepMs > 0) || !(this.maxSleepMs >= this.minSleepMs)) {
      throw new RangeError(
        `IdleBackoff needs spins >= 0, spinUs >= 0 and 0 < minSleepMs <= maxSleepMs, got ${this.spins}, ${this.spinUs}, ${this.minSleepMs}, ${this.maxSleepMs}`,
      );
    }
    this.sleepMs = this.minSleepMs;
  }

  /**
   * Called after a poll of `ring` found nothing: returns at once while spinning, later sleeps on the
   * ring's doorbell (blocking this thread) until data arrives or the current timeout passes. Any
   * `waitForData` will do (a thread hosting several NFs waits on its own doorbell).
   */
  idle(ring: Pick<RingBase, 'waitForData'>): void {
    if (this.empty < this.spins) {
      this.empty++;
      return;
    }
    if (this.spinUs > 0) {
      // The clock is read every 16th poll only: it costs more than a poll.
      if ((this.empty++ & 15) !== 0) return;
      const now = performance.now();
      if (this.since < 0) this.since = now;
      if ((now - this.since) * 1000 < this.spinUs) return;
    }
    this.sleepCount++;
    if (!ring.waitForData(this.sleepMs)) {
      const next = this.sleepMs * 2;
      this.sleepMs = next < this.maxSleepMs ? next : this.maxSleepMs;
    }
  }

  /** Sleeps taken so far (for stats: a consumer that always finds work never sleeps). */
  get sleeps(): number {
    return this.sleepCount;
  }

  /** Called after a poll found work: the next idle period starts by spinning again. */
  reset(): void {
    this.empty = 0;
    this.since = -1;
    this.sleepMs = this.minSleepMs;
  }
}
