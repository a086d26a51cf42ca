// Failed-authentication limiting: the probe of issue 13 tried 3,000 wrong keys in 11 s and never
// saw a 429. Failures are counted per client address and per key prefix (a runtime key's id, or
// the first characters of any other token) in fixed windows; once either count reaches the limit,
// every attempt from that address or for that prefix is answered 429 with Retry-After until the
// window ends, before the credential is even looked at (no oracle while locked). With Redis the
// counts are shared by every replica; without, they are per process.
//
// The limiter fails open: when Redis does not answer in time, authentication goes on unlimited
// (the store outage is logged elsewhere) rather than locking every caller out.
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { HeaderMap } from '@apollo/server';
import { Counter, type Registry } from 'prom-client';
import type { RedisClient } from '../util/redis.ts';
import { withDeadline } from '../util/bounded.ts';

export interface AuthFailureSettings {
  /** Failures per window at which an address or prefix is locked. */
  limit: number;
  windowSeconds: number;
  /** Longest a Redis call may take before the limiter steps aside. */
  opTimeoutMs: number;
}

/** Who is failing: the client's address, and the prefix of the credential it presented. */
export interface AuthAttempt {
  /** Null for re-checks of an already open socket (no new client to count against). */
  address: string | null;
  keyPrefix: string | null;
}

/**
 * The part of a presented token that names a key: `sbk_<key id>` for runtime keys (the id is not
 * secret), else a digest of its first 8 characters (never the characters themselves: they are part
 * of a secret and end up in logs and Redis keys).
 */
export function keyPrefixOf(token: string): string {
  const issued = /^(sbk_[0-9a-f]{16})_/.exec(token);
  return issued ? (issued[1] as string) : `h${createHash('sha256').update(token.slice(0, 8)).digest('hex').slice(0, 12)}`;
}

/** The 429 a locked address or prefix gets (extensions.code RATE_LIMITED, Retry-After in seconds). */
export function authRateLimited(retryAfterSeconds: number): GraphQLError {
  return new GraphQLError(`too many failed authentications from this client or for this key; retry in ${retryAfterSeconds} s`, {
    extensions: {
      code: 'RATE_LIMITED',
      retryAfterMs: retryAfterSeconds * 1000,
      http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) as never },
    },
  });
}

interface Counts {
  /** Failures in the current window of each subject, and seconds until that window ends. */
  read(subjects: string[]): Promise<Array<{ count: number; ttlSeconds: number }>>;
  add(subjects: string[], windowSeconds: number): Promise<number[]>;
}

// KEYS: counters. ARGV: window seconds. Returns the new counts.
const ADD_SCRIPT = `
local out = {}
for i, k in ipairs(KEYS) do
  out[i] = redis.call('INCR', k)
  if out[i] == 1 then redis.call('EXPIRE', k, ARGV[1]) end
end
return out`;

function redisCounts(redis: RedisClient, prefix: string): Counts {
  const key = (s: string) => `${prefix}:authfail:${s}`;
  return {
    // One pipeline per subject (one socket write for its two commands), sent together: the subjects'
    // counters live in different hash slots (a Redis Cluster refuses one transaction, script or
    // pipeline over them), and each counter is atomic alone.
    async read(subjects) {
      return Promise.all(
        subjects.map(async (s) => {
          const replies = await redis.pipeline().get(key(s)).ttl(key(s)).exec();
          for (const [err] of replies ?? []) if (err) throw err;
          const [[, count], [, ttl]] = replies as [[null, string | null], [null, number]];
          return { count: Number(count ?? 0), ttlSeconds: Math.max(1, ttl) };
        }),
      );
    },
    async add(subjects, windowSeconds) {
      const counts = await Promise.all(subjects.map((s) => redis.eval(ADD_SCRIPT, 1, key(s), windowSeconds) as Promise<number[]>));
      return counts.map((c) => c[0] as number);
    },
  };
}

function memoryCounts(): Counts {
  const windows = new Map<string, { count: number; endsAt: number }>();
  const current = (s: string) => {
    const w = windows.get(s);
    if (w && w.endsAt <= Date.now()) windows.delete(s);
    return windows.get(s);
  };
  return {
    async read(subjects) {
      return subjects.map((s) => {
        const w = current(s);
        return { count: w?.count ?? 0, ttlSeconds: w ? Math.max(1, Math.ceil((w.endsAt - Date.now()) / 1000)) : 1 };
      });
    },
    async add(subjects, windowSeconds) {
      return subjects.map((s) => {
        const w = current(s) ?? { count: 0, endsAt: Date.now() + windowSeconds * 1000 };
        w.count += 1;
        windows.set(s, w);
        return w.count;
      });
    },
  };
}

export class AuthFailureLimiter {
  private readonly counts: Counts;
  private readonly failures: Counter<'outcome'>;

  constructor(
    redis: RedisClient | null,
    keyPrefix: string,
    private readonly settings: () => AuthFailureSettings,
    registry: Registry,
    private readonly log: { warn(obj: object, msg: string): void },
  ) {
    this.counts = redis ? redisCounts(redis, keyPrefix) : memoryCounts();
    this.failures = new Counter({
      name: 'switchboard_auth_failures_total',
      help: 'Failed authentications (outcome "rejected": a wrong key or JWT; "limited": answered 429 because of earlier failures).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    });
  }

  private subjects(a: AuthAttempt): string[] {
    return [...(a.address ? [`addr:${a.address}`] : []), ...(a.keyPrefix ? [`key:${a.keyPrefix}`] : [])];
  }

  /** Throws the 429 when the address or prefix is locked; otherwise returns. */
  async check(attempt: AuthAttempt): Promise<void> {
    if (this.subjects(attempt).length === 0) return;
    const { limit, opTimeoutMs } = this.settings();
    let counts: Array<{ count: number; ttlSeconds: number }>;
    try {
      counts = await withDeadline(this.counts.read(this.subjects(attempt)), opTimeoutMs, 'reading authentication failures');
    } catch {
      return;
    }
    const locked = counts.filter((c) => c.count >= limit);
    if (locked.length === 0) return;
    this.failures.inc({ outcome: 'limited' });
    throw authRateLimited(Math.max(...locked.map((c) => c.ttlSeconds)));
  }

  /** Counts one failure; logs when it is the one that locks the address or prefix. */
  async fail(attempt: AuthAttempt): Promise<void> {
    const { limit, windowSeconds, opTimeoutMs } = this.settings();
    this.failures.inc({ outcome: 'rejected' });
    if (this.subjects(attempt).length === 0) return;
    try {
      const counts = await withDeadline(this.counts.add(this.subjects(attempt), windowSeconds), opTimeoutMs, 'counting an authentication failure');
      if (counts.some((c) => c === limit)) {
        this.log.warn(
          { address: attempt.address, keyPrefix: attempt.keyPrefix, limit, windowSeconds },
          'failed authentications reached the limit: answering 429 until the window ends',
        );
      }
    } catch {
      // Fail open (see the file comment).
    }
  }
}
