// A fixed-resolution latency histogram for the webhook benchmark: 0.1 ms buckets up to 120 s, so
// millions of (subscriber, event) deliveries are recorded without keeping one number per delivery.
const RESOLUTION_MS = 0.1;
const MAX_MS = 120_000;

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  /** Samples below 0 (clock skew between processes), counted as 0. */
  negative: number;
}

export class LatencyHistogram {
  private readonly buckets = new Uint32Array(Math.ceil(MAX_MS / RESOLUTION_MS) + 1);
  private count = 0;
  private max = 0;
  private negative = 0;

  record(ms: number): void {
    if (ms < 0) {
      this.negative++;
      ms = 0;
    }
    const i = Math.min(this.buckets.length - 1, Math.floor(ms / RESOLUTION_MS));
    this.buckets[i] = (this.buckets[i] as number) + 1;
    this.count++;
    if (ms > this.max) this.max = ms;
  }

  /** The upper edge of the bucket holding the p-th percentile (0 when empty). */
  percentile(p: number): number {
    if (this.count === 0) return 0;
    const rank = Math.max(1, Math.ceil((p / 100) * this.count));
    let seen = 0;
    for (let i = 0; i < this.buckets.length; i++) {
      seen += this.buckets[i] as number;
      if (seen >= rank) return Math.min(this.max, (i + 1) * RESOLUTION_MS);
    }
    return this.max;
  }

  summary(): LatencySummary {
    return { count: this.count, p50: this.percentile(50), p90: this.percentile(90), p99: this.percentile(99), max: this.max, negative: this.negative };
  }
}

/**
 * Milliseconds on the host's monotonic clock (CLOCK_MONOTONIC through process.hrtime): one clock
 * for every process on the machine, so a timestamp taken by the sender and one taken by a
 * subscriber process are directly comparable, with sub-millisecond precision.
 */
export const hostClockMs = (): number => Number(process.hrtime.bigint()) / 1e6;
