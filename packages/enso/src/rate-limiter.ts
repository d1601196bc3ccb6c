/**
 * The NIC's transmit rate limiter, with Enso's semantics: when enabled with `num / den`, frames
 * from all TX pipes leave at `num / den * maxFlitRate` flits per second (a flit is 64 bytes of the
 * flit-padded frame). Enso's hardware sends bursts of `num` flits every `den` cycles without
 * pause; software only sends when polled, so this token bucket refills continuously and holds up
 * to `max(num, 100 µs of traffic)` flits: gaps of up to 100 µs between polls cost no rate, and
 * bursts stay short. A frame may leave whenever the bucket is positive and then drives it negative
 * by its size, so frames larger than the bucket are never stuck.
 *
 * @module
 */

/** How much traffic (in milliseconds at the set rate) the bucket may hold. */
const BURST_MS = 0.1;

/** A flit token bucket; refilled from `performance.now()` once per transmit round. */
export class RateLimiter {
  private flitsPerMs = 0;
  private burst = 0;
  private tokens = 0;
  private lastMs = 0;
  private on = false;

  /** Whether limiting is on. */
  get enabled(): boolean {
    return this.on;
  }

  /**
   * Limits transmission to `num / den * maxFlitRate` flits per second. `num` and `den` are integers
   * from 1 to 65535 (Enso's 16-bit fields) and `num <= den`; anything else throws a `RangeError`.
   */
  enable(num: number, den: number, maxFlitRate: number): void {
    for (const [name, v] of [['num', num], ['den', den]] as const) {
      if (!Number.isInteger(v) || v < 1 || v > 65535) throw new RangeError(`rate ${name} must be an integer in 1..65535, got ${v}`);
    }
    if (num > den) throw new RangeError(`rate num/den must be at most 1, got ${num}/${den}`);
    this.flitsPerMs = ((num / den) * maxFlitRate) / 1000;
    this.burst = Math.max(num, this.flitsPerMs * BURST_MS);
    this.tokens = this.burst;
    this.lastMs = performance.now();
    this.on = true;
  }

  /** Turns limiting off: frames leave as fast as the port takes them. */
  disable(): void {
    this.on = false;
  }

  /** Adds the tokens earned since the last refill. Call once per transmit round. */
  refill(): void {
    const now = performance.now();
    const t = this.tokens + (now - this.lastMs) * this.flitsPerMs;
    this.tokens = t > this.burst ? this.burst : t;
    this.lastMs = now;
  }

  /** True when a frame may leave now; then {@link consume} its flits. */
  canSend(): boolean {
    return this.tokens > 0;
  }

  /** Charges `flits` flits for a frame that left. */
  consume(flits: number): void {
    this.tokens -= flits;
  }
}
