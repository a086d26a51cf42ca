import { ConnectorError } from '../../connectors/sdk/errors.ts';

/**
 * A token bucket holding one connection's documented request allowance (e.g. HubSpot 190 per
 * 10 s, Stripe 100 per s), so the gateway slows itself down instead of collecting 429s.
 * In-process only: with N replicas each keeps its own bucket (documented in docs/configuration.md).
 * Hand-written because it is ~30 lines and the candidates (bottleneck, limiter) are unmaintained.
 */
export class RateBudget {
  private tokens: number;
  private last = Date.now();
  private readonly perMs: number;

  constructor(
    private readonly capacity: number,
    windowMs: number,
  ) {
    this.tokens = capacity;
    this.perMs = capacity / windowMs;
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** Waits for one token; fails with UPSTREAM_RATE_LIMITED if none can arrive before the deadline. */
  async take(signal: AbortSignal, deadline: number): Promise<void> {
    for (;;) {
      this.refill();
      if (this.tokens >= 1) {
        this.tokens -= 1;
        return;
      }
      const waitMs = Math.ceil((1 - this.tokens) / this.perMs);
      if (Date.now() + waitMs > deadline) {
        throw new ConnectorError('UPSTREAM_RATE_LIMITED', 'the connection has used its request allowance; no capacity before the request deadline', { retryAfterMs: waitMs });
      }
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => {
          clearTimeout(timer);
          reject(signal.reason);
        };
        const timer = setTimeout(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        }, waitMs);
        signal.addEventListener('abort', onAbort, { once: true });
      });
    }
  }
}
