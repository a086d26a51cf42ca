import type { Redis } from 'ioredis';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import { withDeadline } from '../util/bounded.ts';

/** What the upstream wrapper needs from a budget: wait for one request's worth of allowance. */
export interface Budget {
  take(signal: AbortSignal, deadline: number): Promise<void>;
}

/**
 * A token bucket holding one connection's documented request allowance (e.g. HubSpot 190 per
 * 10 s, Stripe 100 per s), so the gateway slows itself down instead of collecting 429s.
 * In-process: the embedded default, and the fallback of SharedRateBudget while Redis is away.
 * Hand-written because it is ~30 lines and the candidates (bottleneck, limiter) are unmaintained.
 */
export class RateBudget implements Budget {
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
      await waitForCapacity(Math.ceil((1 - this.tokens) / this.perMs), signal, deadline);
    }
  }
}

/** Waits `waitMs` for capacity, or fails with UPSTREAM_RATE_LIMITED when that ends past the deadline. */
async function waitForCapacity(waitMs: number, signal: AbortSignal, deadline: number): Promise<void> {
  if (Date.now() + waitMs > deadline) {
    throw new ConnectorError('UPSTREAM_RATE_LIMITED', 'the connection has used its request allowance; no capacity before the request deadline', { retryAfterMs: waitMs });
  }
  await pause(waitMs, signal);
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

const FAILED_ASK_MS = 1_000;

// GCRA (the generic cell rate algorithm): one number per connection — the theoretical arrival time
// of the next request — on Redis's own clock, so replicas with skewed clocks agree.
// KEYS[1] tat; ARGV[1] emission interval (ms per request), ARGV[2] burst tolerance (ms).
// Returns 0 when the request may go now (and books it), else the ms to wait before asking again.
const GCRA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local wait = tat - tolerance - now
if wait > 0 then return math.ceil(wait) end
local next = tat + interval
redis.call('SET', KEYS[1], tostring(next), 'PX', math.ceil(next - now + tolerance + 1000))
return 0`;

/**
 * One connection's allowance shared by every replica (GCRA in Redis, one round trip per upstream
 * call): N gateways together stay within what the provider documents for that connection. When
 * Redis does not answer within `timeoutMs`, this replica falls back to its own bucket.
 */
export class SharedRateBudget implements Budget {
  private readonly interval: number;
  private readonly tolerance: number;
  private readonly local: RateBudget;
  private failedAt = 0;

  constructor(
    private readonly redis: Redis,
    private readonly key: string,
    capacity: number,
    windowMs: number,
    private readonly timeoutMs = 250,
  ) {
    this.interval = windowMs / capacity;
    this.tolerance = windowMs - this.interval;
    this.local = new RateBudget(capacity, windowMs);
  }

  async take(signal: AbortSignal, deadline: number): Promise<void> {
    for (;;) {
      // After a failure, the local bucket serves for a second: one wait per second, not per call.
      if (Date.now() - this.failedAt < FAILED_ASK_MS) return this.local.take(signal, deadline);
      let wait: number;
      try {
        wait = await this.ask();
      } catch {
        this.failedAt = Date.now();
        return this.local.take(signal, deadline);
      }
      if (wait <= 0) return;
      await waitForCapacity(wait, signal, deadline);
    }
  }

  private ask(): Promise<number> {
    return withDeadline(this.redis.eval(GCRA, 1, this.key, String(this.interval), String(this.tolerance)) as Promise<number>, this.timeoutMs, 'the shared rate budget');
  }
}
