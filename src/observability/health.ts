// Per-connection health: what the upstream client saw (last success, last error as a public code
// and our own short message, successes and failures per minute) and when a webhook last arrived.
// On Redis so every replica answers the same; keys carry the tenant, so a tenant reads only its
// own connections. Bounded: one small hash per connection (30-day TTL, refreshed by use) and at
// most five one-minute buckets (6-minute TTL). Writes are fire-and-forget (one MULTI per
// connection for the calls of one event-loop turn): health must never slow or fail a query.
import { hashTag, type RedisClient } from '../util/redis.ts';
import { LRUCache } from 'lru-cache';
import { withDeadline } from '../util/bounded.ts';

/** How one upstream call ended, as health counts it (the upstream client reports it). */
export type CallOutcome = { ok: true } | { ok: false; code: string; message: string };

export type HealthStatus = 'HEALTHY' | 'DEGRADED' | 'FAILING' | 'UNKNOWN';

export interface ConnectionHealth {
  status: HealthStatus;
  lastSuccessAt: string | null;
  lastError: { code: string; message: string; at: string } | null;
  /** Failed / all upstream calls over the last five minutes; null when there were none. */
  errorRate5m: number | null;
  webhookLastReceivedAt: string | null;
}

/** The status rule (docs/operations.md, "Connection health"). */
export const HEALTH_RULE = {
  /** errorRate5m at or above this: FAILING. */
  failingErrorRate: 0.5,
  /** errorRate5m at or above this: DEGRADED. */
  degradedErrorRate: 0.1,
  /** A last outcome with one of these codes is FAILING whatever the rate: the credential itself is refused. */
  failingCodes: new Set(['UPSTREAM_UNAUTHORIZED', 'UPSTREAM_FORBIDDEN']),
} as const;

const WINDOW_MINUTES = 5;
const BUCKET_TTL_SECONDS = (WINDOW_MINUTES + 1) * 60;
const RECORD_TTL_SECONDS = 30 * 24 * 3600;
const MESSAGE_MAX = 200;
/** Connections tracked in memory (embedded default) before the least recently used is forgotten. */
const MEMORY_MAX_CONNECTIONS = 10_000;

interface Fields {
  lastSuccessAt?: string;
  lastErrorAt?: string;
  lastErrorCode?: string;
  lastErrorMessage?: string;
  webhookLastReceivedAt?: string;
}

/** Applies HEALTH_RULE to the stored facts. */
export function healthOf(fields: Fields, ok: number, failed: number): ConnectionHealth {
  const total = ok + failed;
  const errorRate5m = total === 0 ? null : failed / total;
  const lastError =
    fields.lastErrorAt && fields.lastErrorCode ? { code: fields.lastErrorCode, message: fields.lastErrorMessage ?? '', at: fields.lastErrorAt } : null;
  const lastSuccessAt = fields.lastSuccessAt ?? null;
  const webhookLastReceivedAt = fields.webhookLastReceivedAt ?? null;
  const lastWasError = lastError !== null && (lastSuccessAt === null || lastError.at > lastSuccessAt);
  let status: HealthStatus;
  if (!lastSuccessAt && !lastError && !webhookLastReceivedAt) status = 'UNKNOWN';
  else if (lastWasError && (errorRate5m === null || errorRate5m >= HEALTH_RULE.failingErrorRate || HEALTH_RULE.failingCodes.has(lastError.code)))
    status = 'FAILING';
  else if (errorRate5m !== null && errorRate5m >= HEALTH_RULE.failingErrorRate) status = 'FAILING';
  else if (lastWasError || (errorRate5m !== null && errorRate5m >= HEALTH_RULE.degradedErrorRate)) status = 'DEGRADED';
  else status = 'HEALTHY';
  return { status, lastSuccessAt, lastError, errorRate5m, webhookLastReceivedAt };
}

export interface HealthStore {
  recordOutcome(tenantId: string, connectionId: string, outcome: CallOutcome, at?: number): void;
  recordWebhook(tenantId: string, connectionId: string, at?: number): void;
  read(tenantId: string, connectionId: string): Promise<ConnectionHealth>;
}

const minuteOf = (ms: number) => Math.floor(ms / 60_000);
const shortMessage = (m: string) => (m.length > MESSAGE_MAX ? `${m.slice(0, MESSAGE_MAX - 1)}…` : m);
const part = (s: string) => encodeURIComponent(s);

/** At most one webhookLastReceivedAt write per connection in this period (RedisHealthStore.recordWebhook). */
const WEBHOOK_WRITE_INTERVAL_MS = 1_000;

export class RedisHealthStore implements HealthStore {
  /** Connections written within the last interval, with the newest webhook time seen since. */
  private readonly webhookWrites = new Map<string, { at: number }>();
  /** Call outcomes of this turn not yet written, per connection and minute (recordOutcome). */
  private readonly outcomes = new Map<string, { key: string; minute: number; ok: number; err: number; fields: Fields }>();
  private writing: NodeJS.Immediate | null = null;

  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
    private readonly timeoutMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  private key(tenantId: string, connectionId: string): string {
    // A connection's record and minute buckets are written in one MULTI: one hash slot per connection.
    return `${this.prefix}:${hashTag(part(tenantId), part(connectionId))}`;
  }

  /**
   * Counted here, written after the current turn: the outcomes of one turn go in one MULTI per
   * connection and minute (the counts summed, the latest times kept), built off the path of the
   * request that made the call. A read in this process writes them first.
   */
  recordOutcome(tenantId: string, connectionId: string, outcome: CallOutcome, at = Date.now()): void {
    const minute = minuteOf(at);
    const id = `${tenantId}\u0000${connectionId}\u0000${minute}`;
    let p = this.outcomes.get(id);
    if (!p) this.outcomes.set(id, (p = { key: this.key(tenantId, connectionId), minute, ok: 0, err: 0, fields: {} }));
    const iso = new Date(at).toISOString();
    if (outcome.ok) {
      p.ok++;
      if (!p.fields.lastSuccessAt || iso >= p.fields.lastSuccessAt) p.fields.lastSuccessAt = iso;
    } else {
      p.err++;
      if (!p.fields.lastErrorAt || iso >= p.fields.lastErrorAt)
        Object.assign(p.fields, { lastErrorAt: iso, lastErrorCode: outcome.code, lastErrorMessage: shortMessage(outcome.message) });
    }
    this.writing ??= setImmediate(() => this.writeOutcomes());
  }

  private writeOutcomes(): void {
    if (this.writing) clearImmediate(this.writing);
    this.writing = null;
    for (const p of this.outcomes.values()) {
      const bucket = `${p.key}:m:${p.minute}`;
      const multi = this.redis.multi().hset(p.key, p.fields).expire(p.key, RECORD_TTL_SECONDS);
      if (p.ok) multi.hincrby(bucket, 'ok', p.ok);
      if (p.err) multi.hincrby(bucket, 'err', p.err);
      multi.expire(bucket, BUCKET_TTL_SECONDS).exec().catch(this.onError);
    }
    this.outcomes.clear();
  }

  /**
   * The first webhook of a connection is written at once; later ones at most once per
   * WEBHOOK_WRITE_INTERVAL_MS (the newest time, written when the interval ends). At thousands of
   * webhooks a second a write per webhook was a Redis transaction per request for one timestamp.
   */
  recordWebhook(tenantId: string, connectionId: string, at = Date.now()): void {
    // Looked up by the raw ids (the Redis key, with its escaping, is built only when writing).
    const id = `${tenantId}\u0000${connectionId}`;
    const pending = this.webhookWrites.get(id);
    if (pending) {
      pending.at = Math.max(pending.at, at);
      return;
    }
    const key = this.key(tenantId, connectionId);
    this.writeWebhook(key, at);
    const slot = { at: 0 };
    this.webhookWrites.set(id, slot);
    setTimeout(() => {
      this.webhookWrites.delete(id);
      if (slot.at) this.writeWebhook(key, slot.at);
    }, WEBHOOK_WRITE_INTERVAL_MS).unref();
  }

  private writeWebhook(key: string, at: number): void {
    this.redis
      .multi()
      .hset(key, { webhookLastReceivedAt: new Date(at).toISOString() })
      .expire(key, RECORD_TTL_SECONDS)
      .exec()
      .catch(this.onError);
  }

  async read(tenantId: string, connectionId: string): Promise<ConnectionHealth> {
    // Outcomes this process counted are written first (the same connection keeps the order).
    if (this.writing) this.writeOutcomes();
    const key = this.key(tenantId, connectionId);
    const now = minuteOf(Date.now());
    const pipeline = this.redis.pipeline().hgetall(key);
    for (let m = now - WINDOW_MINUTES + 1; m <= now; m++) pipeline.hmget(`${key}:m:${m}`, 'ok', 'err');
    const replies = await withDeadline(pipeline.exec(), this.timeoutMs, 'connection health read');
    let ok = 0;
    let failed = 0;
    for (const [err] of replies ?? []) if (err) throw err;
    for (const [, value] of (replies ?? []).slice(1)) {
      const [o, e] = value as [string | null, string | null];
      ok += Number(o ?? 0);
      failed += Number(e ?? 0);
    }
    return healthOf((replies?.[0]?.[1] ?? {}) as Fields, ok, failed);
  }
}

/** The embedded default: the same facts in this process (bounded LRU). */
export class MemoryHealthStore implements HealthStore {
  private readonly entries = new LRUCache<string, { fields: Fields; buckets: Map<number, { ok: number; err: number }> }>({ max: MEMORY_MAX_CONNECTIONS });

  private entry(tenantId: string, connectionId: string) {
    const key = `${part(tenantId)}:${part(connectionId)}`;
    let e = this.entries.get(key);
    if (!e) this.entries.set(key, (e = { fields: {}, buckets: new Map() }));
    return e;
  }

  recordOutcome(tenantId: string, connectionId: string, outcome: CallOutcome, at = Date.now()): void {
    const e = this.entry(tenantId, connectionId);
    const iso = new Date(at).toISOString();
    if (outcome.ok) e.fields.lastSuccessAt = iso;
    else Object.assign(e.fields, { lastErrorAt: iso, lastErrorCode: outcome.code, lastErrorMessage: shortMessage(outcome.message) });
    const minute = minuteOf(at);
    for (const m of e.buckets.keys()) if (m <= minute - WINDOW_MINUTES) e.buckets.delete(m);
    const b = e.buckets.get(minute) ?? { ok: 0, err: 0 };
    if (outcome.ok) b.ok++;
    else b.err++;
    e.buckets.set(minute, b);
  }

  recordWebhook(tenantId: string, connectionId: string, at = Date.now()): void {
    this.entry(tenantId, connectionId).fields.webhookLastReceivedAt = new Date(at).toISOString();
  }

  async read(tenantId: string, connectionId: string): Promise<ConnectionHealth> {
    const e = this.entries.get(`${part(tenantId)}:${part(connectionId)}`);
    if (!e) return healthOf({}, 0, 0);
    const now = minuteOf(Date.now());
    let ok = 0;
    let failed = 0;
    for (const [m, b] of e.buckets) {
      if (m > now - WINDOW_MINUTES) {
        ok += b.ok;
        failed += b.err;
      }
    }
    return healthOf(e.fields, ok, failed);
  }
}
