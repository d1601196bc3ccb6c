/**
 * Time in the manager, from the receive burst a packet came in to the transmit burst it left in,
 * kept as a histogram of quarter-octave buckets (each bucket 2^(1/4) ≈ 1.19 times wider than the
 * one before), so percentiles come out within 19% from a fixed 256-entry array. It is updated once
 * per batch (every packet of a batch shares its receive time), never per packet.
 * @module
 */

/** Buckets: bucket `b` holds times in [2^((b-1)/4), 2^(b/4)) µs; bucket 0 everything below 1 µs. */
const BUCKETS = 256;

/** Latency percentiles of a {@link LatencyHistogram}, in microseconds. */
export interface LatencySummary {
  /** Packets measured. */
  packets: number;
  /** Median. */
  p50: number;
  /** 99th percentile. */
  p99: number;
  /** Largest seen. */
  max: number;
}

/** A histogram of per-packet times in microseconds, added a batch at a time. */
export class LatencyHistogram {
  private readonly counts = new Float64Array(BUCKETS);
  private packets = 0;
  private maxUs = 0;

  /** Adds `n` packets that each spent `us` microseconds. */
  add(us: number, n: number): void {
    let b = us < 1 ? 0 : Math.ceil(Math.log2(us) * 4) + 1;
    if (b >= BUCKETS) b = BUCKETS - 1;
    this.counts[b] += n;
    this.packets += n;
    if (us > this.maxUs) this.maxUs = us;
  }

  /** Percentiles of everything added since the last {@link LatencyHistogram.reset} (zeros when empty). */
  summary(): LatencySummary {
    return { packets: this.packets, p50: this.percentile(0.5), p99: this.percentile(0.99), max: this.maxUs };
  }

  /** Forgets everything added. */
  reset(): void {
    this.counts.fill(0);
    this.packets = 0;
    this.maxUs = 0;
  }

  /** The upper edge of the bucket holding the `q` quantile (0 when empty). */
  private percentile(q: number): number {
    if (this.packets === 0) return 0;
    const want = q * this.packets;
    let seen = 0;
    for (let b = 0; b < BUCKETS; b++) {
      seen += this.counts[b];
      if (seen >= want) return b === 0 ? 1 : Math.min(2 ** (b / 4), this.maxUs);
    }
    return this.maxUs;
  }
}
