// The polling event source ("virtual webhooks") for providers without signed webhooks (manifest
// events.source "polling" or "both") and for connections switched to polling (connection
// `polling.enabled`). Every replica runs a Poller; per connection exactly one of them polls, the
// holder of a Redis lease with a fencing token: the leader renews it every third of the interval,
// and a follower takes an expired lease over, so a dead leader is replaced within about one
// interval. Each poll reads `list({ filter: { updatedSince } })` of every served entity and, where
// the connector exposes them, deletions (`polling.deletedSince`), keeps what is past the persisted
// cursor (timestamp + id, so records changed in the same second are neither lost nor repeated),
// and enqueues them as changes on the webhook pipeline's queue: the same dedupe (record, version),
// ordering, cache invalidation, change log, subscriptions and dead letters. The cursor is written
// only while the lease's fencing token is still current. Rate limits back the poll off.
// Runtime connections (made through OAuth or with a stored secret) are picked up from the
// connection store: at start, on every status event any replica announces (connected, disabled,
// disconnected), and by a periodic re-read that catches events missed while pub/sub was down.
import { randomUUID } from 'node:crypto';
import { sameSlotAs, type RedisClient } from '../util/redis.ts';
import type { Logger } from 'pino';
import { Gauge, type Registry } from 'prom-client';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { EntityModel, EntityType } from '../../connectors/sdk/models.ts';
import type { ChangeEvent, Connector, EntityLoader, ListOrder } from '../../connectors/sdk/types.ts';
import type { ConnectionStore } from '../accounts/connections.ts';
import type { Tenant, TenantDirectory } from '../callers/tenants.ts';
import type { ConnectionConfig, GatewayConfig } from '../config.ts';
import { nativeOrders } from '../loaders/list-order.ts';
import type { ConnectorContexts } from '../upstream/connector-context.ts';
import { connectionWindows } from '../upstream/rate-budget.ts';
import type { QueuedChange } from './model.ts';
import type { ChangeQueue } from './queue.ts';

/** The default interval between polls of one connection. */
export const DEFAULT_POLL_INTERVAL_MS = 60_000;
/**
 * Records one entity's poll reads at most when the list comes oldest change first (the rest waits
 * for the next poll, the cursor keeps its place). A list in any other order is read whole: cut
 * short, its cursor would jump past older changes still on the pages not read.
 */
export const MAX_RECORDS_PER_POLL = 1_000;
export const POLL_PAGE_SIZE = 200;
const OLDEST_CHANGE_FIRST: ListOrder = { field: 'UPDATED_AT', direction: 'ASC' };
/** Longest back-off after repeated failures. */
const MAX_BACKOFF_MS = 15 * 60_000;
/** How often every tenant's runtime connections are re-read (status events pick changes up at once). */
export const RUNTIME_RESYNC_MS = 30_000;

/** A position in a connection's changes: the last record seen, by change time then id. */
export interface PollCursor {
  /** ISO-8601 instant. */
  ts: string;
  id: string;
}

export type EventMode = 'WEBHOOKS' | 'POLLING' | 'NONE';

export interface PollStatus {
  mode: EventMode;
  intervalMs: number | null;
  /** When the last poll finished (any replica). */
  lastPolledAt: string | null;
  /** Seconds between now and the instant the last complete poll covered; null before the first. */
  lag: number | null;
  lastError: string | null;
}

/** Whether (and how often) a connection is polled: providers without webhooks always, others when switched. */
export function pollingOf(connector: Connector, connection: ConnectionConfig): { intervalMs: number; budgetShare: number } | null {
  const source = connector.manifest.events?.source;
  const polled = source === 'polling' || source === 'both' || connection.polling?.enabled === true;
  if (!polled || connection.polling?.enabled === false) return null;
  return {
    intervalMs: connection.polling?.intervalMs ?? connector.manifest.events?.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS,
    budgetShare: connection.polling?.budgetShare ?? DEFAULT_POLL_BUDGET_SHARE,
  };
}

/** Share of each rate window a connection's polls may use on average, unless its `polling.budgetShare` says otherwise. */
export const DEFAULT_POLL_BUDGET_SHARE = 0.5;

/**
 * How long after a poll that made `calls` upstream calls the next one may start, so that polls use
 * at most `share` of every rate window of the connection on average: for a window of R requests
 * per W ms, calls × W / (share × R). The windows are the ones the shared budget holds the
 * connection to (its own `rateLimit` in place of the connector's); operation-scoped windows
 * (HubSpot search) are counted as if every call were such an operation, which errs on the side of
 * polling less.
 */
export function pollBudgetGapMs(connector: Connector, connection: ConnectionConfig, calls: number, share: number): number {
  if (calls <= 0) return 0;
  const windows = connectionWindows(connector.manifest.rateLimits, connection.rateLimit);
  return Math.max(0, ...windows.map((w) => Math.ceil((calls * w.windowMs) / (share * w.requests))));
}

export function modeOf(connector: Connector, connection: ConnectionConfig): EventMode {
  if (pollingOf(connector, connection)) return 'POLLING';
  return connector.webhooks ? 'WEBHOOKS' : 'NONE';
}

/** Orders (ts, id) pairs: change time first, then id. */
export function compareCursor(a: PollCursor, b: PollCursor): number {
  const d = Date.parse(a.ts) - Date.parse(b.ts);
  if (d !== 0) return d < 0 ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

// --- lease and state ----------------------------------------------------------------------------

// Take or renew the lease. KEYS[1] lease, KEYS[2] fence counter; ARGV: owner, ttl ms.
// Answers the fencing token while this owner holds the lease, else 0.
const ACQUIRE = `
local current = redis.call('GET', KEYS[1])
if current then
  local sep = string.find(current, '|', 1, true)
  if string.sub(current, 1, sep - 1) == ARGV[1] then
    redis.call('PEXPIRE', KEYS[1], ARGV[2])
    return tonumber(string.sub(current, sep + 1))
  end
  return 0
end
local token = redis.call('INCR', KEYS[2])
redis.call('SET', KEYS[1], ARGV[1] .. '|' .. token, 'PX', ARGV[2])
return token`;

// Write a cursor only while the fencing token still holds the lease. KEYS[1] lease, KEYS[2] cursors; ARGV: owner|token, field, value.
const FENCED_SET = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

/** Where leases, cursors and poll state live: Redis (every replica) or this process. */
interface PollStore {
  acquire(connectionId: string, owner: string, ttlMs: number): Promise<number>;
  release(connectionId: string, owner: string, token: number): Promise<void>;
  cursor(connectionId: string, field: string): Promise<PollCursor | null>;
  /** False when the lease moved on (a stale leader must stop). */
  setCursor(connectionId: string, owner: string, token: number, field: string, cursor: PollCursor): Promise<boolean>;
  state(connectionId: string): Promise<Record<string, string>>;
  setState(connectionId: string, state: Record<string, string>): Promise<void>;
}

class RedisPollStore implements PollStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}
  private k = (kind: string, id: string) => `${this.prefix}:poll:${kind}:${id}`;
  /** Lease and fence share the cursor's hash slot (FENCED_SET takes lease and cursor); the cursor keeps its name. */
  private leaseKey = (id: string) => sameSlotAs(this.k('cursor', id), 'lease');
  private fenceKey = (id: string) => sameSlotAs(this.k('cursor', id), 'fence');
  async acquire(id: string, owner: string, ttlMs: number): Promise<number> {
    return Number(await this.redis.eval(ACQUIRE, 2, this.leaseKey(id), this.fenceKey(id), owner, String(ttlMs)));
  }
  async release(id: string, owner: string, token: number): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.leaseKey(id), `${owner}|${token}`);
  }
  async cursor(id: string, field: string): Promise<PollCursor | null> {
    const v = await this.redis.hget(this.k('cursor', id), field);
    return v ? (JSON.parse(v) as PollCursor) : null;
  }
  async setCursor(id: string, owner: string, token: number, field: string, cursor: PollCursor): Promise<boolean> {
    return Number(await this.redis.eval(FENCED_SET, 2, this.leaseKey(id), this.k('cursor', id), `${owner}|${token}`, field, JSON.stringify(cursor))) === 1;
  }
  async state(id: string): Promise<Record<string, string>> {
    return this.redis.hgetall(this.k('state', id));
  }
  async setState(id: string, state: Record<string, string>): Promise<void> {
    await this.redis.hset(this.k('state', id), state);
  }
}

class MemoryPollStore implements PollStore {
  private readonly leases = new Map<string, { owner: string; token: number; until: number }>();
  private readonly cursors = new Map<string, PollCursor>();
  private readonly states = new Map<string, Record<string, string>>();
  private fence = 0;
  async acquire(id: string, owner: string, ttlMs: number): Promise<number> {
    const l = this.leases.get(id);
    if (l && l.until > Date.now() && l.owner !== owner) return 0;
    const token = l && l.owner === owner && l.until > Date.now() ? l.token : ++this.fence;
    this.leases.set(id, { owner, token, until: Date.now() + ttlMs });
    return token;
  }
  async release(id: string, owner: string, token: number): Promise<void> {
    const l = this.leases.get(id);
    if (l?.owner === owner && l.token === token) this.leases.delete(id);
  }
  async cursor(id: string, field: string): Promise<PollCursor | null> {
    return this.cursors.get(`${id}\u0000${field}`) ?? null;
  }
  async setCursor(id: string, owner: string, token: number, field: string, cursor: PollCursor): Promise<boolean> {
    const l = this.leases.get(id);
    if (!l || l.owner !== owner || l.token !== token) return false;
    this.cursors.set(`${id}\u0000${field}`, cursor);
    return true;
  }
  async state(id: string): Promise<Record<string, string>> {
    return this.states.get(id) ?? {};
  }
  async setState(id: string, state: Record<string, string>): Promise<void> {
    this.states.set(id, { ...(this.states.get(id) ?? {}), ...state });
  }
}

// --- the poller -----------------------------------------------------------------------------------

export interface PollerDeps {
  config: Pick<GatewayConfig, 'tenants' | 'keyPrefix' | 'limits'>;
  connectors: ReadonlyMap<string, Connector>;
  contexts: ConnectorContexts;
  queue: ChangeQueue;
  redis: RedisClient | null;
  log: Logger;
  registry?: Registry | undefined;
  /** This replica's name in leases (default: random). */
  owner?: string | undefined;
  /** Runtime connections: the tenant view that merges them in, and the status events that announce them. Absent: tenants-file connections only. */
  runtime?: { directory: Pick<TenantDirectory, 'view' | 'byId'>; connections: Pick<ConnectionStore, 'onStatus'> } | undefined;
  /** Re-read interval of runtime connections (default RUNTIME_RESYNC_MS). */
  resyncMs?: number | undefined;
  /** Records per list page and per entity and poll (defaults POLL_PAGE_SIZE, MAX_RECORDS_PER_POLL; tests make them small). */
  pageSize?: number | undefined;
  maxRecordsPerPoll?: number | undefined;
}

interface Job {
  tenantId: string;
  connection: ConnectionConfig;
  connector: Connector;
  intervalMs: number;
  budgetShare: number;
  timer: NodeJS.Timeout | null;
  /** The fencing token while this replica leads, else 0. */
  token: number;
  polling: Promise<void> | null;
  failures: number;
  nextPollAt: number;
  /** When the lease ends unless renewed, by this replica's clock (measured from before the renewal was asked). */
  leaseUntil: number;
  /** The connection stopped being polled (disconnected, disabled, switched off). */
  stopped?: boolean;
}

export class Poller {
  readonly owner: string;
  private readonly store: PollStore;
  private readonly jobs = new Map<string, Job>();
  private readonly lag: Gauge<'connector' | 'connection'> | null;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  private resyncTimer: NodeJS.Timeout | null = null;
  private readonly syncs = new Map<string, { again: boolean; done: Promise<void> }>();

  constructor(private readonly deps: PollerDeps) {
    this.owner = deps.owner ?? `replica-${randomUUID().slice(0, 8)}`;
    this.store = deps.redis ? new RedisPollStore(deps.redis, deps.config.keyPrefix) : new MemoryPollStore();
    this.lag = deps.registry
      ? new Gauge({
          name: 'switchboard_poll_lag_seconds',
          help: 'Seconds between now and the instant up to which a polled connection’s changes are known (its last complete poll).',
          labelNames: ['connector', 'connection'] as const,
          registers: [deps.registry],
        })
      : null;
  }

  /**
   * Starts a job for every polled tenants-file connection at once, then for every runtime one (and
   * keeps following them: see the header).
   */
  start(): void {
    for (const tenant of this.deps.config.tenants) this.follow(tenant.id, tenant.connections);
    const runtime = this.deps.runtime;
    if (!runtime) return;
    this.unsubscribe = runtime.connections.onStatus((e) => void this.resync(e.tenantId));
    const resyncAll = () => Promise.allSettled(this.deps.config.tenants.map((t) => this.resync(t.id)));
    void resyncAll();
    this.resyncTimer = setInterval(() => void resyncAll(), this.deps.resyncMs ?? RUNTIME_RESYNC_MS);
    this.resyncTimer.unref();
  }

  /**
   * Re-reads one tenant's connections, one read at a time per tenant: an event that arrives during a
   * read asks for another after it, so an older read never undoes what a newer one found.
   */
  private resync(tenantId: string): Promise<void> {
    const running = this.syncs.get(tenantId);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: false, done: Promise.resolve() };
    this.syncs.set(tenantId, entry);
    entry.done = (async () => {
      try {
        do {
          entry.again = false;
          await this.resyncOnce(tenantId);
        } while (entry.again && !this.stopped);
      } finally {
        this.syncs.delete(tenantId);
      }
    })();
    return entry.done;
  }

  /** Reads one tenant's connections (its runtime ones merged in) and follows what is polled now. */
  private async resyncOnce(tenantId: string): Promise<void> {
    const runtime = this.deps.runtime;
    const tenant = runtime?.directory.byId(tenantId);
    if (!runtime || !tenant || this.stopped) return;
    let view: Tenant;
    try {
      view = await runtime.directory.view(tenant, { fresh: true });
    } catch (err) {
      this.deps.log.warn({ tenantId, err: String(err) }, 'poller: runtime connections unreadable');
      return;
    }
    // Unreadable now is no proof they are gone: keep polling what was polled.
    if (view.runtimeConnectionsUnreadable || this.stopped) return;
    this.follow(tenantId, view.connections);
  }

  /** Starts jobs for the tenant's polled connections, updates the ones running, stops the ones gone (disconnected, disabled, switched off). */
  private follow(tenantId: string, connections: readonly ConnectionConfig[]): void {
    const wanted = new Set<string>();
    for (const connection of connections) {
      const connector = this.deps.connectors.get(connection.provider);
      const polling = connector ? pollingOf(connector, connection) : null;
      if (!connector || !polling) continue;
      wanted.add(connection.id);
      const running = this.jobs.get(connection.id);
      if (running) {
        // A reconnect may have changed its settings or base URL; the next poll uses the new ones.
        running.connection = connection;
        running.intervalMs = polling.intervalMs;
        running.budgetShare = polling.budgetShare;
        continue;
      }
      const job: Job = {
        tenantId,
        connection,
        connector,
        intervalMs: polling.intervalMs,
        budgetShare: polling.budgetShare,
        timer: null,
        token: 0,
        polling: null,
        failures: 0,
        nextPollAt: 0,
        leaseUntil: 0,
      };
      this.jobs.set(connection.id, job);
      this.schedule(job, Math.floor(Math.random() * Math.min(1_000, polling.intervalMs / 3)));
    }
    for (const job of [...this.jobs.values()]) {
      if (job.tenantId === tenantId && !wanted.has(job.connection.id)) void this.stopJob(job);
    }
  }

  /** Stops one connection's polling and gives its lease back. */
  private async stopJob(job: Job): Promise<void> {
    if (this.jobs.get(job.connection.id) === job) this.jobs.delete(job.connection.id);
    job.stopped = true;
    if (job.timer) clearTimeout(job.timer);
    job.timer = null;
    await job.polling?.catch(() => undefined);
    if (job.token > 0) await this.store.release(job.connection.id, this.owner, job.token).catch(() => undefined);
    job.token = 0;
  }

  /** Whether this replica has a polling job for a connection (leading it or standing by). */
  follows(connectionId: string): boolean {
    return this.jobs.has(connectionId);
  }

  /** Whether this replica currently leads a connection's polling (holds an unexpired lease, by its own clock). */
  leads(connectionId: string): boolean {
    const job = this.jobs.get(connectionId);
    return !!job && job.token > 0 && Date.now() < job.leaseUntil;
  }

  async status(connector: Connector, connection: ConnectionConfig): Promise<PollStatus> {
    const polling = pollingOf(connector, connection);
    const mode = modeOf(connector, connection);
    if (!polling) return { mode, intervalMs: null, lastPolledAt: null, lag: null, lastError: null };
    let state: Record<string, string> = {};
    try {
      state = await this.store.state(connection.id);
    } catch {
      state = {};
    }
    const asOf = state['asOf'] ? Date.parse(state['asOf']) : NaN;
    return {
      mode,
      intervalMs: polling.intervalMs,
      lastPolledAt: state['lastPolledAt'] ?? null,
      lag: Number.isFinite(asOf) ? Math.max(0, (Date.now() - asOf) / 1000) : null,
      lastError: state['lastError'] || null,
    };
  }

  /**
   * Stops polling and gives the leases back, so another replica takes over at once. With
   * `release: false` the leases stay until they expire, as when a replica dies (tests use it).
   */
  async close(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.resyncTimer) clearInterval(this.resyncTimer);
    for (const job of this.jobs.values()) if (job.timer) clearTimeout(job.timer);
    await Promise.allSettled([...this.jobs.values()].map((j) => j.polling));
    if (options.release === false) return;
    await Promise.allSettled([...this.jobs.values()].filter((j) => j.token > 0).map((j) => this.store.release(j.connection.id, this.owner, j.token)));
  }

  /**
   * Every third of the interval: the leader renews its lease (also while a long poll runs, so the
   * lease never lapses under it) and starts a poll when one is due; followers try to take the lease.
   */
  private schedule(job: Job, delayMs: number): void {
    if (this.stopped || job.stopped) return;
    job.timer = setTimeout(() => {
      job.timer = null;
      void this.tick(job).finally(() => this.schedule(job, Math.max(50, Math.floor(job.intervalMs / 3))));
    }, delayMs);
    job.timer.unref();
  }

  private async tick(job: Job): Promise<void> {
    const id = job.connection.id;
    const asked = Date.now();
    try {
      const token = await this.store.acquire(id, this.owner, job.intervalMs);
      if (token !== job.token && token > 0) job.nextPollAt = 0; // newly leading: poll now
      job.token = token;
      job.leaseUntil = token > 0 ? asked + job.intervalMs : 0;
    } catch (err) {
      job.token = 0; // cannot prove the lease: do not poll
      job.leaseUntil = 0;
      this.deps.log.warn({ connectionId: id, err: String(err) }, 'poller: lease store unavailable');
      return;
    }
    if (job.stopped) {
      // Stopped while the renewal was in flight: give back what it took.
      if (job.token > 0) await this.store.release(id, this.owner, job.token).catch(() => undefined);
      job.token = 0;
      return;
    }
    if (job.token === 0 || job.polling || Date.now() < job.nextPollAt || this.stopped) return;
    job.polling = this.poll(job).finally(() => {
      job.polling = null;
    });
  }

  private async poll(job: Job): Promise<void> {
    const id = job.connection.id;
    const usage = { upstreamCalls: 0 };
    try {
      await this.pollOnce(job, usage);
      job.failures = 0;
      // ±10 % jitter so many connections do not poll in step; longer when the poll's calls would
      // otherwise take more than its share of the connection's rate windows.
      const gap = Math.max(job.intervalMs * (0.9 + Math.random() * 0.2), pollBudgetGapMs(job.connector, job.connection, usage.upstreamCalls, job.budgetShare));
      job.nextPollAt = Date.now() + gap;
    } catch (err) {
      job.failures += 1;
      const retryAfter = err instanceof ConnectorError && err.retryAfterMs ? err.retryAfterMs : 0;
      const backoff = Math.min(MAX_BACKOFF_MS, Math.max(retryAfter, job.intervalMs * 2 ** Math.min(job.failures, 8)));
      job.nextPollAt = Date.now() + backoff;
      const code = err instanceof ConnectorError ? err.code : 'INTERNAL';
      this.deps.log.warn({ connectionId: id, code, backoffMs: backoff }, 'poll failed; backing off');
      await this.store.setState(id, { lastError: `${code}: ${(err as Error).message}`.slice(0, 300) }).catch(() => undefined);
    }
  }

  /** One poll of every entity of a connection; answers the number of changes enqueued. */
  async pollOnce(job: Job, usage?: { upstreamCalls: number }): Promise<number> {
    const started = new Date();
    const bounds = { signal: new AbortController().signal, deadline: Date.now() + this.deps.config.limits.refetchDeadlineMs, ...(usage ? { usage } : {}) };
    const handle = this.deps.contexts.forConnection(job.tenantId, job.connection, bounds);
    if (!handle) return 0;
    let enqueued = 0;
    let complete = true;
    for (const entity of job.connector.manifest.entities) {
      const loader = job.connector.loaders[entity] as EntityLoader<EntityModel> | undefined;
      if (!loader) continue;
      const r = await this.pollEntity(job, entity, loader, handle.ctx, started);
      enqueued += r.enqueued;
      complete &&= r.complete;
      if (job.connector.polling?.deletedSince) enqueued += await this.pollDeletions(job, entity, handle.ctx, started);
    }
    const state: Record<string, string> = { lastPolledAt: new Date().toISOString(), lastError: '' };
    // Complete: every change up to the poll's start is known (lag = now − that instant).
    if (complete) state['asOf'] = started.toISOString();
    await this.store.setState(job.connection.id, state);
    const asOf = complete ? started.getTime() : NaN;
    if (Number.isFinite(asOf)) this.lag?.set({ connector: job.connector.manifest.id, connection: job.connection.id }, (Date.now() - asOf) / 1000);
    return enqueued;
  }

  private async startCursor(job: Job, field: string, started: Date): Promise<PollCursor> {
    const stored = await this.store.cursor(job.connection.id, field);
    if (stored) return stored;
    // A new poller starts at the present: history is read through queries, not replayed as changes.
    // Kept at once, so a takeover before the first change does not skip what happened since.
    const start = { ts: new Date(Math.floor(started.getTime() / 1000) * 1000).toISOString(), id: '' };
    await this.store.setCursor(job.connection.id, this.owner, job.token, field, start);
    return start;
  }

  private async pollEntity(
    job: Job,
    entity: EntityType,
    loader: EntityLoader<EntityModel>,
    ctx: Parameters<EntityLoader<EntityModel>['list']>[1],
    started: Date,
  ) {
    const cursor = await this.startCursor(job, entity, started);
    let fresh: Array<{ model: EntityModel; at: PollCursor }> = [];
    let after: string | null = null;
    let complete = true;
    const pageSize = Math.min(this.deps.pageSize ?? POLL_PAGE_SIZE, job.connector.manifest.maxPageSize);
    // Oldest change first where the connector can list so (manifest.listOrders): then a poll may stop
    // after maxRecords and continue next time. In any other order (the connector's own, say newest
    // first) a cut would move the cursor past older changes on the pages not yet read.
    const ordered = nativeOrders(job.connector.manifest.listOrders?.[entity], true).includes('UPDATED_AT_ASC');
    const maxRecords = ordered ? (this.deps.maxRecordsPerPoll ?? MAX_RECORDS_PER_POLL) : Infinity;
    let newestRead = -Infinity;
    for (let read = 0; ;) {
      const page = await loader.list(
        { first: pageSize, after, filter: { updatedSince: cursor.ts }, ...(ordered ? { orderBy: OLDEST_CHANGE_FIRST } : {}) },
        ctx,
      );
      for (const model of page.nodes) {
        const ts = model.source.remoteUpdatedAt ?? model.updatedAt;
        if (!ts) continue;
        const at = { ts: new Date(Date.parse(ts)).toISOString(), id: model.source.remoteId };
        newestRead = Math.max(newestRead, Date.parse(at.ts));
        if (compareCursor(at, cursor) > 0) fresh.push({ model, at });
      }
      read += page.nodes.length;
      if (!page.hasNextPage || !page.endCursor) break;
      if (read >= maxRecords) {
        complete = false;
        break;
      }
      after = page.endCursor;
    }
    fresh.sort((a, b) => compareCursor(a.at, b.at));
    // Cut short: records of the newest instant read may continue on the next page in another id
    // order than ours (the provider sorts by time only), so they wait for the next poll, which reads
    // from that instant again. Unless they are all there is: then the poll keeps them and moves on.
    if (!complete) {
      const older = fresh.filter((f) => Date.parse(f.at.ts) < newestRead);
      if (older.length) fresh = older;
    }
    const items: QueuedChange[] = fresh.map(({ model, at }) =>
      this.item(job, entity, model.source.remoteId, at, model, model.createdAt !== null && model.createdAt === model.updatedAt ? 'CREATED' : 'UPDATED'),
    );
    return { enqueued: await this.commit(job, entity, items, fresh.at(-1)?.at ?? null), complete };
  }

  private async pollDeletions(job: Job, entity: EntityType, ctx: Parameters<EntityLoader<EntityModel>['list']>[1], started: Date): Promise<number> {
    const field = `${entity}:deleted`;
    const cursor = await this.startCursor(job, field, started);
    const deleted = (await job.connector.polling!.deletedSince!(entity, cursor.ts, ctx))
      .map((d) => ({ id: d.remoteId, at: { ts: new Date(Date.parse(d.deletedAt)).toISOString(), id: d.remoteId } }))
      .filter((d) => compareCursor(d.at, cursor) > 0)
      .sort((a, b) => compareCursor(a.at, b.at));
    const items = deleted.map((d) => this.item(job, entity, d.id, d.at, null, 'DELETED'));
    return this.commit(job, field, items, deleted.at(-1)?.at ?? null);
  }

  private item(job: Job, entity: EntityType, remoteId: string, at: PollCursor, model: EntityModel | null, type: ChangeEvent['type']): QueuedChange {
    const version = Date.parse(at.ts);
    return {
      tenantId: job.tenantId,
      connectionId: job.connection.id,
      provider: job.connector.manifest.id,
      // (record, version): the same change seen twice (a takeover, a retried poll) is one event.
      change: { eventId: `poll:${entity}:${remoteId}:${version}:${type}`, type, entity, remoteId, occurredAt: at.ts, version, model },
      receivedAt: new Date().toISOString(),
    };
  }

  /** Enqueue first, then move the cursor, fenced: a crash in between repeats (deduplicated), never loses. */
  private async commit(job: Job, field: string, items: QueuedChange[], last: PollCursor | null): Promise<number> {
    if (items.length) await this.deps.queue.enqueue(items);
    if (last && !(await this.store.setCursor(job.connection.id, this.owner, job.token, field, last))) {
      job.token = 0;
      throw new ConnectorError('UPSTREAM_UNAVAILABLE', 'the polling lease moved to another replica during the poll; it continues there', { retryable: true });
    }
    return items.length;
  }
}
