// A query-cost leaky bucket (manifest.rateLimits.costBucket): providers that charge each request by
// the work it asks for (Shopify's GraphQL Admin API) refuse a request when the connection's bucket
// holds fewer points than it requests, and refill the bucket at a steady rate. The budget plans
// each request from the cost the connector declares (UpstreamRequest.cost.requested), debits it
// before sending, and corrects itself by what the answer reports (points actually charged, the
// bucket's level, size and refill rate). A request the provider throttled anyway (another client
// of the same account spent the points) waits for the bucket to refill and is sent again: the wait
// is computed from the reported level, not a blind backoff. With Redis the bucket is one hash per
// connection shared by every replica (on Redis's clock); without, per process.
import { setTimeout as sleep } from 'node:timers/promises';
import type { RedisClient } from '../util/redis.ts';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { CostBucketLimits, CostReport, RequestCost, UpstreamResponse } from '../../connectors/sdk/types.ts';
import { withDeadline } from '../util/bounded.ts';

/** A connection's cost bucket. */
export interface CostBucket {
  /** Waits until the bucket holds `cost` points and debits them; UPSTREAM_RATE_LIMITED when no refill fits before `deadline`. */
  take(cost: number, signal: AbortSignal, deadline: number): Promise<void>;
  /** Corrects the bucket by what the answer to a request of `requested` points reported. */
  settle(requested: number, report: CostReport): Promise<void>;
}

/** Throttled answers re-sent per request at most; a provider that keeps throttling gets its answer to the connector. */
export const MAX_THROTTLED_RESENDS = 3;

// ---------------------------------------------------------------------------------------------
// The bucket's arithmetic, as pure functions (the Lua scripts below do the same on Redis).
// ---------------------------------------------------------------------------------------------

export interface BucketState {
  /** Points in the bucket at `at`. */
  available: number;
  /** Milliseconds since the epoch. */
  at: number;
  capacity: number;
  restorePerSecond: number;
}

/** The state at `now`: refilled at the restore rate since `at`, never above capacity. */
export function refilled(state: BucketState, now: number): BucketState {
  const elapsed = Math.max(0, now - state.at);
  return { ...state, available: Math.min(state.capacity, state.available + (elapsed * state.restorePerSecond) / 1000), at: Math.max(now, state.at) };
}

/** Debits `cost` when the bucket holds it (wait 0), else leaves it and says how long the refill takes. */
export function debit(state: BucketState, cost: number, now: number): { state: BucketState; waitMs: number } {
  const s = refilled(state, now);
  if (s.available >= cost) return { state: { ...s, available: s.available - cost }, waitMs: 0 };
  return { state: s, waitMs: Math.ceil(((cost - s.available) * 1000) / s.restorePerSecond) };
}

/** Points to give back after an answer: all of them when the provider did not run the request, the unused part when it did. */
export function refundOf(requested: number, report: CostReport): number {
  if (report.throttled) return requested;
  return report.actual === null ? 0 : Math.max(0, requested - report.actual);
}

/**
 * The state after an answer: the unused points back, then never more than the provider says is
 * left (it also counts other clients of the account; our own level can only be lower because of
 * requests still in flight, which the provider has not charged yet). The reported size and refill
 * rate replace the declared ones (the account's plan).
 */
export function corrected(state: BucketState, requested: number, report: CostReport, now: number): BucketState {
  const s = refilled(state, now);
  const capacity = positive(report.capacity) ?? s.capacity;
  const restorePerSecond = positive(report.restorePerSecond) ?? s.restorePerSecond;
  let available = Math.min(capacity, s.available + refundOf(requested, report));
  if (typeof report.available === 'number' && Number.isFinite(report.available)) available = Math.min(available, Math.max(0, report.available));
  return { available, at: s.at, capacity, restorePerSecond };
}

const positive = (n: number | null | undefined): number | null => (typeof n === 'number' && Number.isFinite(n) && n > 0 ? n : null);

const neverFits = (cost: number, capacity: number) =>
  new ConnectorError('UPSTREAM_RATE_LIMITED', `the request asks for ${cost} points; the connection's cost bucket holds at most ${capacity}`, {
    retryable: false,
  });

/** Waits `waitMs` for the refill, or fails with UPSTREAM_RATE_LIMITED when that ends past the deadline. */
async function waitForRefill(waitMs: number, cost: number, signal: AbortSignal, deadline: number): Promise<void> {
  if (Date.now() + waitMs > deadline) {
    throw new ConnectorError('UPSTREAM_RATE_LIMITED', `the connection's cost bucket cannot hold ${cost} points before the request deadline`, {
      retryAfterMs: waitMs,
    });
  }
  // Asks again after at most a second: points given back meanwhile (a cheaper actual cost, a report
  // of a larger plan) shorten the wait.
  await sleep(Math.min(waitMs, MAX_SLEEP_MS), undefined, { signal });
}

const MAX_SLEEP_MS = 1_000;

// ---------------------------------------------------------------------------------------------

/** The bucket in this process: the embedded default, and the shared bucket's fallback while Redis is away. */
export class LocalCostBucket implements CostBucket {
  private state: BucketState;

  get capacity(): number {
    return this.state.capacity;
  }

  constructor(limits: CostBucketLimits) {
    this.state = { available: limits.capacity, at: Date.now(), capacity: limits.capacity, restorePerSecond: limits.restorePerSecond };
  }

  async take(cost: number, signal: AbortSignal, deadline: number): Promise<void> {
    for (;;) {
      if (cost > this.state.capacity) throw neverFits(cost, this.state.capacity);
      const { state, waitMs } = debit(this.state, cost, Date.now());
      this.state = state;
      if (waitMs === 0) return;
      await waitForRefill(waitMs, cost, signal, deadline);
    }
  }

  async settle(requested: number, report: CostReport): Promise<void> {
    this.state = corrected(this.state, requested, report, Date.now());
  }

  /** Takes over the shared bucket's level, so a fallback while Redis is away starts from it, not from a full bucket. */
  adopt(available: number, capacity: number, restorePerSecond: number): void {
    if ([available, capacity, restorePerSecond].every(Number.isFinite) && capacity > 0 && restorePerSecond > 0)
      this.state = { available, at: Date.now(), capacity, restorePerSecond };
  }
}

// KEYS[1]: the connection's hash (avail, at, cap, rate); the declared size and rate fill a new one.
const LOAD = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', KEYS[1], 'avail', 'at', 'cap', 'rate')
local cap = tonumber(h[3] or ARGV[1])
local rate = tonumber(h[4] or ARGV[2])
local avail = tonumber(h[1] or cap)
local at = tonumber(h[2] or now)
if now > at then avail = math.min(cap, avail + (now - at) * rate / 1000) end
local function store()
  redis.call('HSET', KEYS[1], 'avail', tostring(avail), 'at', tostring(now), 'cap', tostring(cap), 'rate', tostring(rate))
  redis.call('PEXPIRE', KEYS[1], math.ceil(cap * 1000 / rate) + 60000)
end`;
// ARGV[3]: cost. Returns { wait ms (0: debited; -1: never fits), level, capacity, rate }.
const TAKE = `${LOAD}
local cost = tonumber(ARGV[3])
local wait = 0
if cost > cap then wait = -1 elseif avail >= cost then avail = avail - cost else wait = math.ceil((cost - avail) * 1000 / rate) end
store()
return { wait, tostring(avail), tostring(cap), tostring(rate) }`;
// ARGV[3]: points back; ARGV[4..6]: reported level, size, rate ('' when not reported).
const SETTLE = `${LOAD}
if ARGV[5] ~= '' then cap = tonumber(ARGV[5]) end
if ARGV[6] ~= '' then rate = tonumber(ARGV[6]) end
avail = math.min(cap, avail + tonumber(ARGV[3]))
if ARGV[4] ~= '' then avail = math.min(avail, math.max(0, tonumber(ARGV[4]))) end
store()
return { 0, tostring(avail), tostring(cap), tostring(rate) }`;

/** Longest wait for Redis before the local bucket decides. */
const MIN_SHARED_TIMEOUT_MS = 2_000;

/** One connection's bucket shared by every replica (a Redis hash on Redis's clock); the local bucket serves while Redis does not answer. */
export class SharedCostBucket implements CostBucket {
  private readonly local: LocalCostBucket;

  private readonly timeoutMs: number;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly limits: CostBucketLimits,
    timeoutMs = 250,
  ) {
    this.local = new LocalCostBucket(limits);
    // A local decision while Redis is merely slow lets replicas spend the same points (a THROTTLED
    // answer and a re-send); the request waits for points anyway, so a slow answer is worth waiting for.
    this.timeoutMs = Math.max(timeoutMs, MIN_SHARED_TIMEOUT_MS);
  }

  async take(cost: number, signal: AbortSignal, deadline: number): Promise<void> {
    for (;;) {
      let waitMs: number;
      try {
        waitMs = await this.run(TAKE, cost);
      } catch {
        return this.local.take(cost, signal, deadline);
      }
      if (waitMs < 0) throw neverFits(cost, this.local.capacity);
      if (waitMs === 0) return;
      await waitForRefill(waitMs, cost, signal, deadline);
    }
  }

  async settle(requested: number, report: CostReport): Promise<void> {
    const arg = (n: number | null | undefined) => (typeof n === 'number' && Number.isFinite(n) ? String(n) : '');
    const size = (n: number | null | undefined) => arg(positive(n));
    try {
      await this.run(SETTLE, refundOf(requested, report), arg(report.available), size(report.capacity), size(report.restorePerSecond));
    } catch {
      await this.local.settle(requested, report);
    }
  }

  /** Runs a script and mirrors the shared level into the local fallback; answers the script's first value. */
  private async run(script: string, ...args: Array<string | number>): Promise<number> {
    const answer = (await withDeadline(
      this.redis.eval(script, 1, this.key, String(this.limits.capacity), String(this.limits.restorePerSecond), ...args.map(String)),
      this.timeoutMs,
      'the shared cost bucket',
    )) as [number, string, string, string];
    this.local.adopt(Number(answer[1]), Number(answer[2]), Number(answer[3]));
    return answer[0];
  }
}

/**
 * Sends a costed request within the bucket: takes its requested points, sends, corrects the bucket
 * by the answer's report, and when the provider throttled it, waits for the refill and sends again
 * (at most MAX_THROTTLED_RESENDS times; then the throttled answer is the connector's to map).
 */
export async function sendWithinCost(
  bucket: CostBucket,
  cost: RequestCost,
  signal: AbortSignal,
  deadline: number,
  send: () => Promise<UpstreamResponse>,
): Promise<UpstreamResponse> {
  for (let resent = 0; ; resent++) {
    await bucket.take(cost.requested, signal, deadline);
    // A transport failure keeps the debit: the provider may have charged the request.
    const response = await send();
    const report = cost.report(response);
    if (report) await bucket.settle(cost.requested, report);
    if (!report?.throttled || resent >= MAX_THROTTLED_RESENDS) return response;
  }
}
