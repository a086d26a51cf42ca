// Connections tenants create at runtime (connect flow, client credentials, API key): their
// non-secret metadata (provider, status, scopes, last refresh, last error), the short-lived
// connect sessions of the OAuth flow, and the status-change channel behind the
// `connectionStatusChanged` subscription. Secrets live in the vault, never here.
//
// Redis layout (prefix `<keyPrefix>:conn`):
//   <p>:c:<connectionId>      JSON ManagedConnection
//   <p>:t:<tenantId>          SET of the tenant's connection ids
//   <p>:x:<provider>:<setting>:<value>  SET of connection ids with that string setting (HubSpot
//                             portalId, Stripe connectedAccountId): routes app-level webhooks
//   <p>:s:<sha256(token)>     JSON connect session / pending authorization, with a TTL; taken with
//                             GETDEL so each is usable exactly once, by one replica
//   <p>:status                pub/sub channel: StatusEvent JSON (every replica's subscriptions)
// Sessions are stored under a digest of their token, so a Redis dump does not hold usable links.
//
// Every replica reads a tenant's connections on each request; a per-process cache (5 s) saves
// that round trip and is dropped for a tenant whenever any replica announces a change on the
// channel, so a disconnect or NEEDS_REAUTH takes effect everywhere within one message.
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { createRedis, getMany, type RedisClient } from '../util/redis.ts';
import { StoreOutage } from '../util/store-outage.ts';

export type ConnectionStatus = 'ACTIVE' | 'NEEDS_REAUTH' | 'DISABLED';

/** Concurrent writers kept a compare-and-set from landing: retryable, reported like an outage. */
export class StoreBusyError extends StoreOutage {
  override readonly name = 'StoreBusyError';
}
export type ConnectionAuth = 'OAUTH2' | 'CLIENT_CREDENTIALS' | 'API_KEY' | 'BASIC' | 'CONFIGURED';

export interface ManagedConnection {
  id: string;
  tenantId: string;
  provider: string;
  auth: ConnectionAuth;
  status: ConnectionStatus;
  scopes: string[];
  /** API base URL for this connection (operator override, or the provider's instance URL). */
  baseUrl: string | null;
  /** Non-secret provider settings (portal id, connected account id, shop). */
  settings: Record<string, unknown>;
  createdAt: string;
  lastRefreshedAt: string | null;
  /** Why the status is not ACTIVE, in words safe to show the tenant (never token material). */
  lastError: string | null;
}

/** What update() may change: status and bookkeeping, never identity or settings (the settings index). */
export type ConnectionPatch = Partial<Pick<ManagedConnection, 'status' | 'scopes' | 'lastRefreshedAt' | 'lastError'>>;

export interface StatusEvent {
  tenantId: string;
  connectionId: string;
  provider: string;
  /** DELETED when the connection was disconnected. */
  status: ConnectionStatus | 'DELETED';
  reason: string | null;
  at: string;
}

export interface ConnectionStore {
  put(connection: ManagedConnection): Promise<void>;
  get(connectionId: string): Promise<ManagedConnection | null>;
  listByTenant(tenantId: string): Promise<ManagedConnection[]>;
  /** The same, read from the store now and not cached: background readers (the poller) never hold up a request's listing. */
  readTenant(tenantId: string): Promise<ManagedConnection[]>;
  /** Connections of a provider whose string setting `setting` equals `value` (app-level webhook routing). */
  bySetting(provider: string, setting: string, value: string): Promise<ManagedConnection[]>;
  /** Applies a change only if the connection still exists (a disconnect wins over a late refresh). */
  update(connectionId: string, patch: ConnectionPatch): Promise<ManagedConnection | null>;
  delete(tenantId: string, connectionId: string): Promise<boolean>;
  putSession(token: string, value: unknown, ttlSeconds: number): Promise<void>;
  /** The session stored under `token`, removed atomically: a second take gets null. */
  takeSession<T>(token: string): Promise<T | null>;
  /** The session stored under `token`, left in place (the confirmation page reads it). */
  peekSession<T>(token: string): Promise<T | null>;
  publish(event: StatusEvent): Promise<void>;
  /** Every status event from every replica (this one included). Returns an unsubscribe function. */
  onStatus(listener: (event: StatusEvent) => void): () => void;
  close(): Promise<void>;
}

// KEYS[1] record; ARGV[1] expected current text, ARGV[2] new text. 1 swapped, 0 changed meanwhile, -1 gone.
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if not current then return -1 end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2])
return 1`;

const sessionDigest = (token: string) => createHash('sha256').update(token).digest('hex');

/** Index entries of a connection: one per short string setting, `<provider>:<setting>:<value>`. */
function settingEntries(c: ManagedConnection): string[] {
  return Object.entries(c.settings)
    .filter((e): e is [string, string] => typeof e[1] === 'string' && e[1].length <= 200)
    .map(([k, v]) => `${c.provider}:${k}:${v}`);
}
/**
 * Sets a connection's status and announces it — only when it changes, so a connection that keeps
 * failing the same way does not re-announce (and drop every replica's cached listings) per request.
 */
export async function recordStatus(store: ConnectionStore, tenantId: string, connectionId: string, status: ConnectionStatus, reason: string): Promise<void> {
  const current = await store.get(connectionId);
  if (!current || current.tenantId !== tenantId || (current.status === status && current.lastError === reason)) return;
  const updated = await store.update(connectionId, { status, lastError: reason });
  if (updated) await store.publish({ tenantId, connectionId, provider: updated.provider, status, reason, at: new Date().toISOString() });
}

const TENANT_CACHE_MS = 5_000;
/** A failed load is remembered this long, so an outage costs one wait per second, not one per request. */
const FAILED_LOAD_MS = 1_000;

/** Per-process cache of tenants' connection lists, dropped per tenant on any announced change. */
abstract class CachedListing {
  private readonly cache = new Map<string, { at: number; ttl: number; list: Promise<ManagedConnection[]> }>();

  protected abstract loadTenant(tenantId: string): Promise<ManagedConnection[]>;

  listByTenant(tenantId: string): Promise<ManagedConnection[]> {
    const hit = this.cache.get(tenantId);
    if (hit && Date.now() - hit.at < hit.ttl) return hit.list;
    const list = this.loadTenant(tenantId);
    const entry = { at: Date.now(), ttl: TENANT_CACHE_MS, list };
    this.cache.set(tenantId, entry);
    list.catch(() => {
      entry.at = Date.now();
      entry.ttl = FAILED_LOAD_MS;
    });
    return list;
  }

  readTenant(tenantId: string): Promise<ManagedConnection[]> {
    return this.loadTenant(tenantId);
  }

  protected forget(tenantId: string): void {
    this.cache.delete(tenantId);
  }

  protected forgetAll(): void {
    this.cache.clear();
  }
}

export class MemoryConnectionStore extends CachedListing implements ConnectionStore {
  private readonly connections = new Map<string, ManagedConnection>();
  private readonly sessions = new Map<string, { value: string; expiresAt: number }>();
  private readonly events = new EventEmitter();

  constructor() {
    super();
    this.events.setMaxListeners(0);
  }

  protected async loadTenant(tenantId: string): Promise<ManagedConnection[]> {
    return [...this.connections.values()].filter((c) => c.tenantId === tenantId).map((c) => structuredClone(c));
  }

  async put(connection: ManagedConnection): Promise<void> {
    this.connections.set(connection.id, structuredClone(connection));
    this.forget(connection.tenantId);
  }

  async get(connectionId: string): Promise<ManagedConnection | null> {
    const c = this.connections.get(connectionId);
    return c ? structuredClone(c) : null;
  }

  async bySetting(provider: string, setting: string, value: string): Promise<ManagedConnection[]> {
    return [...this.connections.values()].filter((c) => c.provider === provider && c.settings[setting] === value).map((c) => structuredClone(c));
  }

  async update(connectionId: string, patch: ConnectionPatch): Promise<ManagedConnection | null> {
    const c = this.connections.get(connectionId);
    if (!c) return null;
    const next = { ...c, ...patch, id: c.id, tenantId: c.tenantId, provider: c.provider };
    this.connections.set(connectionId, next);
    this.forget(c.tenantId);
    return structuredClone(next);
  }

  async delete(tenantId: string, connectionId: string): Promise<boolean> {
    const c = this.connections.get(connectionId);
    if (!c || c.tenantId !== tenantId) return false;
    this.connections.delete(connectionId);
    this.forget(tenantId);
    return true;
  }

  async putSession(token: string, value: unknown, ttlSeconds: number): Promise<void> {
    const now = Date.now();
    for (const [k, s] of this.sessions) if (s.expiresAt <= now) this.sessions.delete(k);
    this.sessions.set(sessionDigest(token), { value: JSON.stringify(value), expiresAt: now + ttlSeconds * 1000 });
  }

  async peekSession<T>(token: string): Promise<T | null> {
    const s = this.sessions.get(sessionDigest(token));
    return s && s.expiresAt > Date.now() ? (JSON.parse(s.value) as T) : null;
  }

  async takeSession<T>(token: string): Promise<T | null> {
    const key = sessionDigest(token);
    const s = this.sessions.get(key);
    this.sessions.delete(key);
    return s && s.expiresAt > Date.now() ? (JSON.parse(s.value) as T) : null;
  }

  async publish(event: StatusEvent): Promise<void> {
    this.forget(event.tenantId);
    this.events.emit('status', event);
  }

  onStatus(listener: (event: StatusEvent) => void): () => void {
    this.events.on('status', listener);
    return () => this.events.off('status', listener);
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
  }
}

export class RedisConnectionStore extends CachedListing implements ConnectionStore {
  private readonly redis: RedisClient;
  private subscriber: RedisClient | null = null;
  private readonly events = new EventEmitter();
  private readonly channel: string;

  constructor(
    private readonly redisUrl: string,
    private readonly prefix: string,
    private readonly onError: (err: unknown) => void = () => undefined,
  ) {
    super();
    this.redis = createRedis(redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2_000 });
    this.redis.on('error', onError);
    this.channel = `${prefix}:status`;
    this.events.setMaxListeners(0);
    // Subscribe at once so cache invalidations from other replicas arrive from the start.
    this.ensureSubscriber();
  }

  private key(connectionId: string): string {
    return `${this.prefix}:c:${connectionId}`;
  }

  private tenantKey(tenantId: string): string {
    return `${this.prefix}:t:${tenantId}`;
  }

  protected async loadTenant(tenantId: string): Promise<ManagedConnection[]> {
    const ids = await this.redis.smembers(this.tenantKey(tenantId));
    if (ids.length === 0) return [];
    const values = await getMany(
      this.redis,
      ids.sort().map((id) => this.key(id)),
    );
    return values
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as ManagedConnection)
      .filter((c) => c.tenantId === tenantId);
  }

  private settingKey(entry: string): string {
    return `${this.prefix}:x:${entry}`;
  }

  async put(connection: ManagedConnection): Promise<void> {
    const previous = await this.get(connection.id);
    // The record and its index entries live in different hash slots (a Redis Cluster cannot write
    // them in one transaction), so the order keeps every intermediate state harmless: indexes are
    // added before the record and stale ones removed after it; readers trust the record, never an
    // index entry alone (a dangling entry is skipped, a stale setting entry re-checked).
    await Promise.all([
      this.redis.sadd(this.tenantKey(connection.tenantId), connection.id),
      ...settingEntries(connection).map((entry) => this.redis.sadd(this.settingKey(entry), connection.id)),
    ]);
    await this.redis.set(this.key(connection.id), JSON.stringify(connection));
    const current = new Set(settingEntries(connection));
    const stale = (previous ? settingEntries(previous) : []).filter((entry) => !current.has(entry));
    await Promise.all(stale.map((entry) => this.redis.srem(this.settingKey(entry), connection.id)));
    this.forget(connection.tenantId);
  }

  async bySetting(provider: string, setting: string, value: string): Promise<ManagedConnection[]> {
    const ids = await this.redis.smembers(this.settingKey(`${provider}:${setting}:${value}`));
    if (ids.length === 0) return [];
    const values = await getMany(
      this.redis,
      ids.sort().map((id) => this.key(id)),
    );
    // The index may briefly name a connection just deleted: trust the record.
    return values
      .filter((v): v is string => v !== null)
      .map((v) => JSON.parse(v) as ManagedConnection)
      .filter((c) => c.provider === provider && c.settings[setting] === value);
  }

  async get(connectionId: string): Promise<ManagedConnection | null> {
    const v = await this.redis.get(this.key(connectionId));
    return v ? (JSON.parse(v) as ManagedConnection) : null;
  }

  async update(connectionId: string, patch: ConnectionPatch): Promise<ManagedConnection | null> {
    // Read-modify-write as compare-and-set on the exact stored text (WATCH would not be safe on a
    // connection shared by concurrent callers): a concurrent delete or update makes it retry.
    const key = this.key(connectionId);
    for (let attempt = 0; attempt < 10; attempt++) {
      const current = await this.redis.get(key);
      if (!current) return null;
      const c = JSON.parse(current) as ManagedConnection;
      const next = { ...c, ...patch, id: c.id, tenantId: c.tenantId, provider: c.provider };
      const swapped = await this.redis.eval(COMPARE_AND_SET, 1, key, current, JSON.stringify(next));
      if (swapped === 1) {
        this.forget(c.tenantId);
        return next;
      }
      if (swapped === -1) return null;
    }
    throw new StoreBusyError(`connection ${connectionId}: too many concurrent updates`);
  }

  async delete(tenantId: string, connectionId: string): Promise<boolean> {
    const current = await this.get(connectionId);
    if (!current || current.tenantId !== tenantId) return false;
    // The record first (it is what readers trust), then its index entries (see put()).
    const deleted = await this.redis.del(this.key(connectionId));
    await Promise.all([
      this.redis.srem(this.tenantKey(tenantId), connectionId),
      ...settingEntries(current).map((entry) => this.redis.srem(this.settingKey(entry), connectionId)),
    ]);
    this.forget(tenantId);
    return deleted === 1;
  }

  async putSession(token: string, value: unknown, ttlSeconds: number): Promise<void> {
    await this.redis.set(`${this.prefix}:s:${sessionDigest(token)}`, JSON.stringify(value), 'EX', ttlSeconds);
  }

  async peekSession<T>(token: string): Promise<T | null> {
    const v = await this.redis.get(`${this.prefix}:s:${sessionDigest(token)}`);
    return v ? (JSON.parse(v) as T) : null;
  }

  async takeSession<T>(token: string): Promise<T | null> {
    const v = await this.redis.getdel(`${this.prefix}:s:${sessionDigest(token)}`);
    return v ? (JSON.parse(v) as T) : null;
  }

  async publish(event: StatusEvent): Promise<void> {
    this.forget(event.tenantId);
    await this.redis.publish(this.channel, JSON.stringify(event));
  }

  onStatus(listener: (event: StatusEvent) => void): () => void {
    this.events.on('status', listener);
    return () => this.events.off('status', listener);
  }

  private ensureSubscriber(): void {
    const sub = createRedis(this.redisUrl, { maxRetriesPerRequest: null, connectTimeout: 2_000 });
    sub.on('error', this.onError);
    sub.on('message', (channel: string, message: string) => {
      if (channel !== this.channel) return;
      let event: StatusEvent;
      try {
        event = JSON.parse(message) as StatusEvent;
      } catch {
        return;
      }
      this.forget(event.tenantId);
      this.events.emit('status', event);
    });
    // After a reconnect, messages published meanwhile are gone: drop every cached listing.
    sub.on('ready', () => this.forgetAll());
    void sub.subscribe(this.channel).catch(this.onError);
    this.subscriber = sub;
  }

  async close(): Promise<void> {
    this.events.removeAllListeners();
    await Promise.allSettled([this.subscriber?.quit(), this.redis.quit()]);
  }
}
