/**
 * Token bucket for the generator's rate limit, refilled from a monotonic millisecond clock.
 *
 * @module
 */

/** Default bucket depth: tokens for this many milliseconds at the full rate. */
export const DEFAULT_BURST_MS = 10;

/**
 * A token bucket in arbitrary units (packets or bits). It runs a deficit: a send is allowed while the
 * balance is positive and may take it below zero, so a large frame is never starved by a shallow
 * bucket and the long-run rate is exact. The balance is capped at `burst`, so an idle period does
 * not bank an unbounded burst.
 */
export class TokenBucket {
  /** Units per millisecond. */
  readonly ratePerMs: number;
  /** Largest balance. */
  readonly burst: number;
  private tokens = 0;
  private last: number;

  /**
   * A bucket of `ratePerSec` units per second, at most `burstMs` milliseconds deep (but at least one
   * unit), empty at `now` (milliseconds on the caller's monotonic clock).
   */
  constructor(ratePerSec: number, burstMs: number, now: number) {
    if (!(ratePerSec > 0) || !Number.isFinite(ratePerSec)) throw new Error(`rate must be positive, got ${ratePerSec}`);
    if (!(burstMs > 0)) throw new Error(`burst must be positive, got ${burstMs} ms`);
    this.ratePerMs = ratePerSec / 1000;
    this.burst = Math.max(1, this.ratePerMs * burstMs);
    this.last = now;
  }

  /** Adds the tokens earned since the previous refill (clock `now`, in ms). */
  refill(now: number): void {
    const t = this.tokens + (now - this.last) * this.ratePerMs;
    this.tokens = t > this.burst ? this.burst : t;
    this.last = now;
  }

  /** True while the balance is positive (a send may go). */
  ready(): boolean {
    return this.tokens > 0;
  }

  /** Takes `cost` units (the balance may go negative). */
  spend(cost: number): void {
    this.tokens -= cost;
  }
}
