// A connection's request allowance, as the connector's manifest declares it (rateLimits): every
// window, and the number of requests in flight at once. With Redis the allowance is shared by
// every replica (N gateways together stay within what the provider documents); without, per process.
import { randomUUID } from 'node:crypto';
import type { RedisClient } from '../util/redis.ts';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { RateLimits, RateWindow } from '../../connectors/sdk/types.ts';
import { withDeadline } from '../util/bounded.ts';
import { DailyAllocationGate, LocalAllocationStore, RedisAllocationStore } from './daily-allocation.ts';
import { LocalCostBucket, SharedCostBucket, type CostBucket } from './cost-bucket.ts';

/** What one window needs to give: wait for one request's worth of allowance. */
export interface Budget {
  take(signal: AbortSignal, deadline: number): Promise<void>;
  /** Only requests with one of these operation labels draw from it (HubSpot search's own 5/s); absent: every request. */
  readonly operations?: readonly string[] | undefined;
  /** The response header reporting the calls left in this window (manifest `remainingHeader`). */
  readonly remainingHeader?: string | undefined;
  /** The provider says `remaining` calls are left: plan no more than that from now on. */
  report?(remaining: number): void;
}

/** Gives back a slot of the concurrency limit once the request has its answer. */
export type Release = () => void;

/** What the upstream layer needs from a connection's budget: a turn within every limit. */
export interface ConnectionBudget {
  acquire(signal: AbortSignal, deadline: number, operation?: string): Promise<Release>;
  /** Reads what an answer reports about the allowance (a header-fed daily allocation). */
  observe?(headers: Headers): void;
  /** The query-cost bucket (manifest.rateLimits.costBucket) that costed requests are sent within (cost-bucket.ts). */
  readonly costBucket?: CostBucket | null;
}

/**
 * How the budget of each connection is built (shared on Redis, or per process). `app` names the
 * operator's app (the connector id): windows with `scope: 'app'` are one budget for all its connections.
 */
export type BudgetFactory = (key: string, limits: RateLimits, app?: string) => ConnectionBudget;

/** Every window of the connection, then a concurrency slot (held until `release`). */
export class WindowsAndConcurrency implements ConnectionBudget {
  constructor(
    private readonly windows: readonly Budget[],
    private readonly concurrency: ConcurrencyLimit | null,
    private readonly daily: DailyAllocationGate | null = null,
    readonly costBucket: CostBucket | null = null,
  ) {}

  observe(headers: Headers): void {
    this.daily?.observe(headers);
    for (const window of this.windows) {
      if (!window.remainingHeader || !window.report) continue;
      const value = headers.get(window.remainingHeader)?.trim();
      if (value && /^\d{1,9}$/.test(value)) window.report(Number(value));
    }
  }

  async acquire(signal: AbortSignal, deadline: number, operation?: string): Promise<Release> {
    // A spent daily share refuses at once: no wait would help.
    await this.daily?.check();
    // Windows first: a request waiting for its window does not hold a concurrency slot meanwhile.
    const due = this.windows.filter((window) => !window.operations || (operation && window.operations.includes(operation)));
    if (due.length === 1) await (due[0] as Budget).take(signal, deadline);
    else if (due.length > 1) await takeEvery(due, signal, deadline);
    return this.concurrency ? this.concurrency.enter(signal, deadline) : noRelease;
  }
}

/**
 * Takes from every window at once: with Redis, one round trip for all of them instead of one
 * after another (HubSpot's search calls have two, every Xero call three). The first refusal is the
 * answer, and stops the others waiting (a window that gives later would book a request that
 * is not made).
 */
async function takeEvery(windows: readonly Budget[], signal: AbortSignal, deadline: number): Promise<void> {
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal.reason);
  if (signal.aborted) onAbort();
  else signal.addEventListener('abort', onAbort, { once: true });
  try {
    await Promise.all(
      windows.map((window) =>
        window.take(stop.signal, deadline).catch((err: unknown) => {
          stop.abort(err);
          throw err;
        }),
      ),
    );
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

const noRelease: Release = () => undefined;

/** App-scoped windows of this process, one per app and window (without Redis, "app-wide" is per process). */
const localAppWindows = new Map<string, RateBudget>();

function localWindow(w: RateWindow, app: string | undefined): RateBudget {
  if (w.scope !== 'app') return new RateBudget(w.requests, w.windowMs, w.burst ?? true);
  const key = `${app ?? ''}:${w.requests}/${w.windowMs}`;
  let budget = localAppWindows.get(key);
  if (!budget) localAppWindows.set(key, (budget = new RateBudget(w.requests, w.windowMs, w.burst ?? true)));
  return budget;
}

/** Per-process budgets (the embedded default without Redis). */
export const localBudgets: BudgetFactory = (_key, limits, app) =>
  new WindowsAndConcurrency(
    limits.windows.map((w) => declared(localWindow(w, app), w)),
    limits.concurrency ? new LocalConcurrency(limits.concurrency) : null,
    limits.dailyAllocation ? new DailyAllocationGate(limits.dailyAllocation, new LocalAllocationStore()) : null,
    limits.costBucket ? new LocalCostBucket(limits.costBucket) : null,
  );

/**
 * The windows a connection is held to: its own allowance (tenants file `rateLimit`) replaces the
 * manifest's windows; windows scoped to some operations (HubSpot search) or to the whole app (Xero)
 * stay. The budget enforces these; the poller spaces its polls by them.
 */
export function connectionWindows(rateLimits: RateLimits, own: { requests: number; windowMs: number } | undefined): RateWindow[] {
  if (!own) return rateLimits.windows;
  return [own, ...rateLimits.windows.filter((w) => w.operations || w.scope === 'app')];
}

/** Budgets shared by every replica through Redis, each falling back to a local one while Redis is away. */
export function sharedBudgets(redis: RedisClient, keyPrefix: string, timeoutMs: number): BudgetFactory {
  return (key, limits, app) =>
    new WindowsAndConcurrency(
      // The first window keeps the key it always had, so a rolling deploy shares it with older replicas.
      limits.windows.map((w, i) =>
        declared(
          new SharedRateBudget(
            redis,
            w.scope === 'app'
              ? `${keyPrefix}:rate:app:${app ?? key}:${w.windowMs}`
              : `${keyPrefix}:rate:${key}${i === 0 ? '' : `:${w.windowMs}`}${w.operations ? `:op${i}` : ''}`,
            w.requests,
            w.windowMs,
            timeoutMs,
            w.burst ?? true,
          ),
          w,
        ),
      ),
      limits.concurrency ? new SharedConcurrency(redis, `${keyPrefix}:inflight:${key}`, limits.concurrency, timeoutMs) : null,
      limits.dailyAllocation ? new DailyAllocationGate(limits.dailyAllocation, new RedisAllocationStore(redis, `${keyPrefix}:daily:${key}`, timeoutMs)) : null,
      limits.costBucket ? new SharedCostBucket(redis, `${keyPrefix}:cost:${key}`, limits.costBucket, timeoutMs) : null,
    );
}

/** A window as the manifest declares it: for some operations only, and/or corrected by a remaining-calls header. */
function declared(budget: RateBudget | SharedRateBudget, w: RateWindow): Budget {
  if (!w.operations && !w.remainingHeader) return budget;
  return {
    operations: w.operations,
    remainingHeader: w.remainingHeader,
    take: (signal, deadline) => budget.take(signal, deadline),
    report: (remaining) => budget.report(remaining),
  };
}

/** A limit on requests in flight at once. */
export interface ConcurrencyLimit {
  enter(signal: AbortSignal, deadline: number): Promise<Release>;
}

/** In-process semaphore, FIFO. */
export class LocalConcurrency implements ConcurrencyLimit {
  private active = 0;
  private readonly waiting: Array<() => void> = [];

  constructor(private readonly limit: number) {}

  async enter(signal: AbortSignal, deadline: number): Promise<Release> {
    while (this.active >= this.limit) {
      const left = deadline - Date.now();
      if (left <= 0) throw noSlot(this.limit);
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => {
          this.waiting.splice(this.waiting.indexOf(wake), 1);
          reject(noSlot(this.limit));
        }, left);
        const wake = () => {
          clearTimeout(timer);
          resolve();
        };
        this.waiting.push(wake);
        signal.addEventListener('abort', () => reject(signal.reason), { once: true });
      });
    }
    this.active++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.waiting.shift()?.();
    };
  }
}

const noSlot = (limit: number) =>
  new ConnectorError(
    'UPSTREAM_RATE_LIMITED',
    `the connection already has ${limit} requests in flight (the provider's concurrency limit); none finished before the request deadline`,
  );

// A lease per request in flight, in a sorted set scored by expiry (Redis clock): a replica that dies
// holding leases frees them when they expire. KEYS[1] set; ARGV: limit, lease ms, member.
const ENTER = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;
/** How often a request waiting for a shared slot asks again. */
const SLOT_POLL_MS = 20;

/** The concurrency limit shared by every replica; the local semaphore serves while Redis does not answer. */
export class SharedConcurrency implements ConcurrencyLimit {
  private readonly local: LocalConcurrency;

  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly limit: number,
    private readonly timeoutMs = 250,
  ) {
    this.local = new LocalConcurrency(limit);
  }

  async enter(signal: AbortSignal, deadline: number): Promise<Release> {
    const member = randomUUID();
    // The lease outlives the request at most by its deadline; a crashed holder frees it then.
    const leaseMs = Math.max(1_000, deadline - Date.now());
    for (;;) {
      let entered: number;
      try {
        entered = (await withDeadline(
          this.redis.eval(ENTER, 1, this.key, String(this.limit), String(leaseMs), member) as Promise<number>,
          this.timeoutMs,
          'the shared concurrency limit',
        )) as number;
      } catch {
        return this.local.enter(signal, deadline);
      }
      if (entered === 1) return () => void this.redis.zrem(this.key, member).catch(() => undefined);
      if (Date.now() + SLOT_POLL_MS > deadline) throw noSlot(this.limit);
      await pause(SLOT_POLL_MS, signal);
    }
  }
}

/**
 * A token bucket holding one connection's documented request allowance (e.g. HubSpot 190 per
 * 10 s, Stripe 100 per s), so the gateway slows itself down instead of collecting 429s.
 * In-process: the embedded default, and the fallback of SharedRateBudget while Redis is away.
 * Hand-written because it is ~30 lines and the candidates (bottleneck, limiter) are unmaintained.
 */
/** Spacing of a window without burst, over windowMs / requests: 10 % for arrival jitter (measured: exact spacing drew 429s from a rolling window under load). */
const NO_BURST_MARGIN = 1.1;

export class RateBudget implements Budget {
  private tokens: number;
  private last = Date.now();
  private readonly perMs: number;

  private readonly capacity: number;

  /** Without `burst`, the bucket holds one request: requests go out windowMs / capacity apart (plus NO_BURST_MARGIN). */
  constructor(capacity: number, windowMs: number, burst = true) {
    this.capacity = burst ? capacity : 1;
    this.tokens = this.capacity;
    this.perMs = capacity / windowMs / (burst ? 1 : NO_BURST_MARGIN);
  }

  private refill(): void {
    const now = Date.now();
    this.tokens = Math.min(this.capacity, this.tokens + (now - this.last) * this.perMs);
    this.last = now;
  }

  /** The provider reports `remaining` calls left in the window: never hold more tokens than that. */
  report(remaining: number): void {
    this.refill();
    this.tokens = Math.min(this.tokens, remaining);
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
    throw new ConnectorError('UPSTREAM_RATE_LIMITED', 'the connection has used its request allowance; no capacity before the request deadline', {
      retryAfterMs: waitMs,
    });
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

// A reported remaining count: with GCRA, `capacity − (tat − now) / interval` requests may go at
// once, so `remaining` left means tat = now + (capacity − remaining) × interval; the arrival time
// only moves later (a report never hands back what the replicas booked since). KEYS[1] tat;
// ARGV[1] (capacity − remaining) × interval, ARGV[2] burst tolerance (ms).
const REPORT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local target = now + tonumber(ARGV[1])
local tat = tonumber(redis.call('GET', KEYS[1]) or 0)
if tat >= target then return 0 end
redis.call('SET', KEYS[1], tostring(target), 'PX', math.ceil(target - now + tonumber(ARGV[2]) + 1000))
return 1`;

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
    private readonly redis: RedisClient,
    private readonly key: string,
    private readonly capacity: number,
    windowMs: number,
    private readonly timeoutMs = 250,
    burst = true,
  ) {
    // Without a burst, requests are spaced evenly with a margin (NO_BURST_MARGIN): they arrive with
    // network jitter, and a provider counting rolling windows refuses the one that lands early.
    this.interval = (windowMs / capacity) * (burst ? 1 : NO_BURST_MARGIN);
    // GCRA's burst tolerance; 0 spaces requests evenly (see manifest rateLimits.windows[].burst).
    this.tolerance = burst ? windowMs - this.interval : 0;
    this.local = new RateBudget(capacity, windowMs, burst);
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

  /** The provider reports `remaining` calls left: every replica plans no more than that (the local fallback too). */
  report(remaining: number): void {
    this.local.report(remaining);
    const ahead = Math.max(0, this.capacity - remaining) * this.interval;
    void withDeadline(
      this.redis.eval(REPORT, 1, this.key, String(ahead), String(this.tolerance)) as Promise<number>,
      this.timeoutMs,
      'the shared rate budget',
    ).catch(() => undefined);
  }

  private ask(): Promise<number> {
    return withDeadline(
      this.redis.eval(GCRA, 1, this.key, String(this.interval), String(this.tolerance)) as Promise<number>,
      this.timeoutMs,
      'the shared rate budget',
    );
  }
}
