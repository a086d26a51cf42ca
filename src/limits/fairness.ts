// Per-tenant fairness at the gateway's door: a request rate (with a burst allowance) and a limit on
// requests in progress at once, both shared by every replica through Redis, so one tenant's flood
// is refused (429 with Retry-After) instead of queueing in front of everybody else's requests.
// The rate is rate-limiter-flexible's (a maintained, atomic Redis counter with an in-memory
// insurance limiter while Redis is away); the concurrency limit is a lease per request in a Redis
// sorted set (a replica that dies frees its leases when they expire).
import { randomUUID } from 'node:crypto';
import { HeaderMap } from '@apollo/server';
import { GraphQLError } from 'graphql';
import type { RedisClient } from '../util/redis.ts';
import { Counter } from 'prom-client';
import { BurstyRateLimiter, RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import type { GatewayLimits } from '../config.ts';
import type { Metrics } from '../observability/metrics.ts';
import { withDeadline } from '../util/bounded.ts';

export type Release = () => void;

/** The burst allowance is spread over this window: `tenantRequestBurst` extra requests per 10 s. */
const BURST_WINDOW_SECONDS = 10;
/**
 * Refusals held at once in one process (each is an open request and a timer). Beyond it a refusal
 * is answered at once, so a flood of new connections cannot make the holding itself unbounded.
 */
const MAX_HELD_REFUSALS = 10_000;
/** A tenant refused this recently (its refusals held up to refusalHoldMs included) is admitted before its request reads anything else. */
const REFUSED_RECENTLY_MS = 5_000;
/** Tenants whose last refusal is remembered at most (beyond it the oldest is forgotten). */
const MAX_REFUSED_TRACKED = 10_000;

export function rateLimited(message: string, retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(message, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterSeconds,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) as never },
    },
  });
}

// KEYS[1] leases; ARGV: limit, lease ms, member. 1 when entered, 0 when the limit is reached.
const ENTER = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[3])
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1`;

export interface AdmissionOptions {
  redis: RedisClient | null;
  keyPrefix: string;
  /** Longest a Redis round trip may take before the local fallback decides. */
  timeoutMs: number;
  /** How long a lease outlives its request at most (a crashed replica's leases expire then). */
  leaseMs: number;
  metrics: Metrics;
}

export class TenantAdmission {
  private readonly rates = new Map<string, RateLimiterAbstract | BurstyRateLimiter>();
  private readonly localInFlight = new Map<string, number>();
  /** When this replica last refused each tenant, oldest first (bounded: expired entries are dropped as others are added). */
  private readonly lastRefused = new Map<string, number>();
  private readonly rejections: Counter<'tenant' | 'reason'>;
  private held = 0;

  constructor(private readonly options: AdmissionOptions) {
    this.rejections = new Counter({
      name: 'switchboard_tenant_requests_rejected_total',
      help: 'GraphQL requests refused with 429 at the gateway, by tenant and reason (rate, concurrency).',
      labelNames: ['tenant', 'reason'] as const,
      registers: [options.metrics.registry],
    });
  }

  /**
   * Admits one request of `tenantId` or throws RATE_LIMITED (HTTP 429, Retry-After). The returned
   * release frees its concurrency slot; call it once the answer is sent (extra calls do nothing).
   * A refusal is thrown after `refusalHoldMs` (at most its Retry-After): a client that retries at
   * once is slowed by its own connections, not by everybody's CPU.
   */
  async admit(
    tenantId: string,
    limits: Pick<GatewayLimits, 'tenantRequestsPerSecond' | 'tenantRequestBurst' | 'tenantConcurrency' | 'refusalHoldMs'>,
  ): Promise<Release> {
    // Both asked at once (with Redis, their round trips overlap). A request the rate refuses gives
    // its concurrency slot back at once, before its refusal is held.
    const [rate, release] = await Promise.all([
      this.rateFor(limits)
        .consume(tenantId)
        .then(
          () => null,
          (err: unknown) => err,
        ),
      this.enter(tenantId, limits.tenantConcurrency),
    ]);
    if (rate !== null) {
      release?.();
      if (!(rate instanceof RateLimiterRes)) throw rate;
      throw await this.refusal(
        tenantId,
        'rate',
        `too many requests: this tenant may send ${limits.tenantRequestsPerSecond} per second (plus ${limits.tenantRequestBurst} per ${BURST_WINDOW_SECONDS} s in bursts); retry after the Retry-After delay`,
        Math.max(1, Math.ceil(rate.msBeforeNext / 1000)),
        limits.refusalHoldMs,
      );
    }
    if (release) return release;
    throw await this.refusal(
      tenantId,
      'concurrency',
      `too many requests in progress: this tenant may have ${limits.tenantConcurrency} at once; retry when one has finished`,
      1,
      limits.refusalHoldMs,
    );
  }

  /**
   * Whether this replica refused the tenant within the last REFUSED_RECENTLY_MS (5 s): a flooding tenant's
   * requests are then admitted before anything else is read for them (the route reads the response
   * cache during admission otherwise, a Redis read per request that a refusal wastes).
   */
  refusedRecently(tenantId: string): boolean {
    const at = this.lastRefused.get(tenantId);
    return at !== undefined && performance.now() - at < REFUSED_RECENTLY_MS;
  }

  /** Counts a refusal and answers its error after the hold (at most its Retry-After). */
  private async refusal(tenantId: string, reason: 'rate' | 'concurrency', message: string, retryAfterSeconds: number, holdMs: number): Promise<GraphQLError> {
    this.rejections.inc({ tenant: tenantId, reason });
    const now = performance.now();
    // Re-inserted, so the map stays in refusal order: the expired (or, beyond the bound, the
    // oldest) entries are at its front, and the sweep stops at the first one it keeps.
    this.lastRefused.delete(tenantId);
    this.lastRefused.set(tenantId, now);
    for (const [t, at] of this.lastRefused) {
      if (this.lastRefused.size <= MAX_REFUSED_TRACKED && now - at < REFUSED_RECENTLY_MS) break;
      this.lastRefused.delete(t);
    }
    await this.hold(Math.min(holdMs, retryAfterSeconds * 1000));
    return rateLimited(message, retryAfterSeconds);
  }

  /** Waits before a refusal is answered, unless too many are already waiting in this process. */
  private async hold(ms: number): Promise<void> {
    if (ms <= 0 || this.held >= MAX_HELD_REFUSALS) return;
    this.held++;
    try {
      await new Promise((resolve) => setTimeout(resolve, ms));
    } finally {
      this.held--;
    }
  }

  private rateFor(limits: Pick<GatewayLimits, 'tenantRequestsPerSecond' | 'tenantRequestBurst'>): RateLimiterAbstract | BurstyRateLimiter {
    const key = `${limits.tenantRequestsPerSecond}:${limits.tenantRequestBurst}`;
    let limiter = this.rates.get(key);
    if (!limiter) {
      const { redis, keyPrefix } = this.options;
      const make = (points: number, duration: number, name: string): RateLimiterAbstract => {
        const memory = new RateLimiterMemory({ points, duration, keyPrefix: name });
        if (!redis) return memory;
        // While Redis does not answer, each replica counts on its own (insuranceLimiter).
        return new RateLimiterRedis({ storeClient: redis, points, duration, keyPrefix: `${keyPrefix}:tenant-${name}`, insuranceLimiter: memory });
      };
      const rate = make(limits.tenantRequestsPerSecond, 1, `rate:${key}`);
      limiter = new BurstyRateLimiter(rate, make(limits.tenantRequestBurst, BURST_WINDOW_SECONDS, `burst:${key}`));
      this.rates.set(key, limiter);
    }
    return limiter;
  }

  /** A concurrency slot, or null when the tenant has `limit` requests in progress. */
  private async enter(tenantId: string, limit: number): Promise<Release | null> {
    const { redis, keyPrefix, timeoutMs, leaseMs } = this.options;
    if (redis) {
      const key = `${keyPrefix}:tenant-inflight:${tenantId}`;
      const member = randomUUID();
      try {
        const entered = await withDeadline(
          redis.eval(ENTER, 1, key, String(limit), String(leaseMs), member) as Promise<number>,
          timeoutMs,
          'tenant concurrency',
        );
        if (entered !== 1) return null;
        return once(() => void redis.zrem(key, member).catch(() => undefined));
      } catch {
        // Redis slow or away: this replica's own count decides.
      }
    }
    const now = this.localInFlight.get(tenantId) ?? 0;
    if (now >= limit) return null;
    this.localInFlight.set(tenantId, now + 1);
    return once(() => {
      const left = (this.localInFlight.get(tenantId) ?? 1) - 1;
      if (left > 0) this.localInFlight.set(tenantId, left);
      else this.localInFlight.delete(tenantId);
    });
  }
}

function once(fn: () => void): Release {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
