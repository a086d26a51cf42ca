// The event path: verified webhook changes → durable queue → worker (refetch thin events through
// the connector, drop out-of-order versions, refresh the cache) → change log → subscriptions.
// Every replica runs the same pipeline; they share the work through the queue and the changes
// through the log.
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import { createRedis, type RedisClient } from '../util/redis.ts';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { EntityModel, EntityModelMap, EntityType } from '../../connectors/sdk/models.ts';
import type { ChangeEvent, Connector, EntityLoader } from '../../connectors/sdk/types.ts';
import type { Logger } from 'pino';
import type { TenantDirectory } from '../callers/tenants.ts';
import type { EntityCache } from '../cache/entity-cache.ts';
import { MemoryAuditLog, type AuditLog } from '../audit/log.ts';
import { MemoryIdentityLinks, type IdentityLinks } from '../identity/links.ts';
import type { GatewayConfig } from '../config.ts';
import type { ConnectorContexts } from '../upstream/connector-context.ts';
import type { Metrics } from '../observability/metrics.ts';
import { TRACING_OFF, SpanKind, type Tracing } from '../observability/tracing.ts';
import { bounded } from '../util/bounded.ts';
import { RedisChangeLog, MemoryChangeLog, type ChangeLog } from './change-log.ts';
import { MemoryDataRequests, RedisDataRequests, type ComplianceDeps } from './compliance.ts';
import type { QueuedChange } from './model.ts';
import type { StreamObserver } from './subscribe.ts';
import type { UpstreamClient } from '../upstream/client.ts';
import { BullChangeQueue, MemoryChangeQueue, PermanentFailure, RetryLater, mayDefer, type ChangeQueue, type WorkerStopReport } from './queue.ts';
import { MemoryDeadLetterStore, MemoryVersionStore, RedisDeadLetterStore, RedisVersionStore, type DeadLetterStore, type VersionStore } from './stores.ts';

/** Thin events arriving within this window are refetched in one batch. */
const REFETCH_BATCH_WINDOW_MS = 10;

/** What the worker needs: where connections live, how to call their connector, the cache to refresh. */
export interface EventPipelineDeps {
  config: Pick<GatewayConfig, 'redisUrl' | 'keyPrefix' | 'events' | 'limits'>;
  directory: TenantDirectory;
  contexts: ConnectorContexts;
  cache: EntityCache;
  log: Logger;
  /** Event-path metrics (queue probe, stalled, dead letters, processing time, lag, subscriptions); optional. */
  metrics?: Metrics | null;
  tracing?: Tracing;
  /** The connectors by id: a change stored with its provider body (QueuedChange.body) is mapped with theirs. */
  connectors?: ReadonlyMap<string, Connector>;
  /** Where privacy requests record what they did, and the identity links they remove (optional: tests of the worker alone). */
  audit?: AuditLog;
  identity?: IdentityLinks;
  /** The upstream client whose breakers tell an outage from one record's failure (optional: tests of the worker alone). */
  upstream?: Pick<UpstreamClient, 'outageFor'>;
}

export class EventPipeline {
  readonly queue: ChangeQueue;
  readonly log: ChangeLog;
  readonly deadLetters: DeadLetterStore;
  /** Privacy requests from providers (compliance.ts): what they purge, where data requests are kept. */
  readonly compliance: ComplianceDeps;
  private readonly versions: VersionStore;
  private readonly redis: RedisClient | null;
  private readonly refetchers = new Map<string, DataLoader<string, EntityModel | ConnectorError>>();
  private readonly metrics: Metrics | null;
  private readonly tracing: Tracing;
  /** Handed to every change subscription (resolvers/events.ts): open streams and deliveries. */
  readonly streamObserver: StreamObserver | undefined;

  constructor(private readonly services: EventPipelineDeps) {
    const { config } = services;
    const onError = (err: unknown) => services.log.warn({ err: String(err) }, 'event pipeline: Redis error');
    const prefix = `${config.keyPrefix}:events`;
    const metrics = (this.metrics = services.metrics ?? null);
    this.tracing = services.tracing ?? TRACING_OFF;
    this.streamObserver = metrics
      ? { opened: () => metrics.subscriptionsOpen.inc(), delivered: () => metrics.subscriptionDeliveries.inc(), closed: () => metrics.subscriptionsOpen.dec() }
      : undefined;
    // A pipeline run on its own (tests of the worker) keeps its audit trail and identity links in process.
    const privacy = {
      cache: services.cache,
      audit: services.audit ?? new MemoryAuditLog(() => 1),
      identity: services.identity ?? new MemoryIdentityLinks(),
    };
    if (config.redisUrl) {
      this.redis = createRedis(config.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2_000 });
      this.redis.on('error', onError);
      this.queue = new BullChangeQueue(config.redisUrl, prefix, settings(config.events), onError, (jobId) => {
        metrics?.queueStalled.inc();
        services.log.warn({ jobId }, 'event job stalled (its worker died or lost its lock): taken back for another worker');
      });
      this.log = new RedisChangeLog(
        config.redisUrl,
        prefix,
        config.events.retainedChanges,
        onError,
        config.events.dedupeTtlSeconds,
        config.events.changeLogShards ?? 1,
      );
      this.versions = new RedisVersionStore(this.redis, prefix, config.events.dedupeTtlSeconds);
      this.deadLetters = new RedisDeadLetterStore(this.redis, prefix);
      this.compliance = { ...privacy, changeLog: this.log, dataRequests: new RedisDataRequests(this.redis, `${config.keyPrefix}:compliance`) };
    } else {
      this.redis = null;
      this.queue = new MemoryChangeQueue(settings(config.events));
      this.log = new MemoryChangeLog(config.events.retainedChanges);
      this.versions = new MemoryVersionStore();
      this.deadLetters = new MemoryDeadLetterStore();
      this.compliance = { ...privacy, changeLog: this.log, dataRequests: new MemoryDataRequests() };
    }
    if (metrics) metrics.probes.queue = () => this.queue.stats();
  }

  /**
   * `tail`: read the change log from now on (subscriptions are served here; otherwise the first
   * listener starts it). `workers`: consume the queue (a process without the workers role only
   * enqueues). Both by default.
   */
  start(roles: { workers: boolean; tail: boolean } = { workers: true, tail: true }): void {
    const metrics = this.metrics;
    if (roles.tail) {
      this.log.start();
      if (metrics) this.log.listen((c) => metrics.changeLogLag.observe(Math.max(0, Date.now() - Date.parse(c.publishedAt)) / 1000));
    }
    if (!roles.workers) return;
    this.queue.start(
      (item, attempt) => this.processObserved(item, attempt),
      async (item, error, attempts) => {
        const reason = /stalled/i.test(error) ? 'stalled' : attempts >= this.services.config.events.maxAttempts ? 'exhausted' : 'permanent';
        this.metrics?.deadLetters.inc({ connector: item.provider, reason });
        this.services.log.error({ connectionId: item.connectionId, eventId: item.change.eventId, attempts, error }, 'event moved to the dead-letter store');
        await this.deadLetters.add(item, error, attempts);
      },
    );
  }

  /** process() with its span (continuing the webhook's trace) and its processing-time metric. */
  private async processObserved(item: QueuedChange, attempt: number): Promise<void> {
    const started = performance.now();
    let outcome = 'failed';
    try {
      outcome = await this.tracing.withSpan(
        `event process ${item.provider} ${item.change.entity}`,
        {
          'switchboard.provider': item.provider,
          'switchboard.entity': item.change.entity,
          'switchboard.event_id': item.change.eventId,
          'switchboard.attempt': attempt,
        },
        () => this.process(item, attempt),
        { kind: SpanKind.CONSUMER, parent: item.trace },
      );
    } catch (err) {
      // The queue's own rule: a RetryLater past deferMaxAgeMs is a failed attempt there too.
      if (mayDefer(err, item, this.services.config.events)) outcome = 'deferred';
      else if (!(err instanceof PermanentFailure) && attempt < this.services.config.events.maxAttempts) outcome = 'retry';
      throw err;
    } finally {
      this.metrics?.eventProcessing.observe({ connector: item.provider, outcome }, (performance.now() - started) / 1000);
    }
  }

  /** One change: refetch if thin, drop if stale, refresh the cache, append to the log. */
  private async process(item: QueuedChange, attempt: number): Promise<'published' | 'dropped'> {
    const owner = await this.services.directory.ownerOf(item.connectionId);
    if (!owner || owner.tenant.id !== item.tenantId)
      throw new PermanentFailure(`connection ${item.connectionId} is no longer configured for tenant ${item.tenantId}`);
    const change = item.body === undefined ? item.change : this.mapStoredBody(item);
    let model = change.model;
    let type = change.type;
    if (!model && type !== 'DELETED') {
      // DataLoader turns an Error in a slot into a rejection of that key: take it back as a value,
      // so a record gone since the event was sent becomes a DELETED change instead of a retry.
      const fetched = await this.refetcher(item, change.entity)
        .load(change.remoteId)
        .catch((err: unknown) => err);
      if (fetched instanceof ConnectorError) {
        if (fetched.code === 'UPSTREAM_NOT_FOUND') type = 'DELETED';
        else if (fetched.code === 'UPSTREAM_RATE_LIMITED') throw new RetryLater(rateLimitDelayMs(fetched.retryAfterMs), fetched);
        else if (fetched.retryable) {
          // The provider fails this connection's calls, not only this record's (upstream.outageFor):
          // the outage is waited out like a rate limit, without using up attempts.
          const reopensIn = this.services.upstream?.outageFor(item.provider, item.connectionId) ?? null;
          if (reopensIn !== null) throw new RetryLater(outageDelayMs(reopensIn, Date.now() - Date.parse(item.receivedAt)), fetched);
          throw fetched;
        } else throw new PermanentFailure(`${fetched.code}: ${fetched.message}`);
      } else if (fetched instanceof Error) throw fetched;
      else model = fetched as EntityModel;
    }

    const updatedAt = model?.source.remoteUpdatedAt ? Date.parse(model.source.remoteUpdatedAt) : NaN;
    const version = Number.isFinite(updatedAt) ? updatedAt : (change.version ?? Date.parse(change.occurredAt));
    const recordKey = `${item.tenantId}:${item.connectionId}:${change.entity}:${change.remoteId}`;
    const published = type === 'DELETED' ? null : model;
    const fingerprint = createHash('sha256').update(type).update(JSON.stringify(published)).digest('base64url').slice(0, 22);
    const verdict = await this.versions.advance(recordKey, version, fingerprint, change.eventId, item.arrival);
    if (verdict !== 'newer') {
      this.services.log.debug({ eventId: change.eventId, attempt, verdict }, 'older than, or identical to, a version already published; dropped');
      return 'dropped';
    }

    // Invalidate before publishing: a client that queries after receiving the event sees this version.
    const scope = { tenantId: item.tenantId, connectionId: item.connectionId };
    const now = new Date().toISOString();
    await this.services.cache.deleteRecord(scope, change.entity, change.remoteId);
    if (model && type !== 'DELETED') await this.services.cache.setRecords(scope, change.entity, [{ model, fetchedAt: now }]);
    // Lists may have gained, lost or reordered this record: their cached pages stop counting.
    await this.services.cache.invalidateLists(scope, change.entity);

    const publishSpan = this.tracing.startSpan(
      `changelog publish ${change.entity}`,
      { 'switchboard.provider': item.provider, 'switchboard.change_type': type },
      SpanKind.PRODUCER,
    );
    await this.log.append({
      tenantId: item.tenantId,
      connectionId: item.connectionId,
      provider: item.provider,
      entity: change.entity,
      eventId: change.eventId,
      type,
      occurredAt: change.occurredAt,
      remoteId: change.remoteId,
      model: published,
      publishedAt: now,
    });
    // (A failed append leaves the span unended: it is dropped, and the process span records the error.)
    publishSpan?.end();
    this.metrics?.eventPublishLag.observe({ connector: item.provider }, Math.max(0, Date.now() - Date.parse(item.receivedAt)) / 1000);
    return 'published';
  }

  /**
   * The change of a delivery the route stored unmapped (toEventsWithoutModels): the connector's
   * toEvents on the body, the change with the same event id. A body that no longer maps is a
   * permanent failure (a dead letter that keeps the body), never a retry.
   */
  private mapStoredBody(item: QueuedChange): ChangeEvent {
    const webhooks = this.services.connectors?.get(item.provider)?.webhooks;
    if (!webhooks) throw new PermanentFailure(`no webhook mapping for provider ${item.provider} in this process`);
    const body = item.body as string | Buffer;
    const mapped = webhooks.toEvents(typeof body === 'string' ? Buffer.from(body, 'utf8') : body);
    if (!mapped.ok) throw new PermanentFailure(`${mapped.error.code}: ${mapped.error.message}`);
    const change = mapped.value.find((c) => c.eventId === item.change.eventId);
    if (!change) throw new PermanentFailure(`the stored ${item.provider} delivery no longer maps to event ${item.change.eventId}`);
    return change;
  }

  /** Batches refetches of thin events per connection and entity (HubSpot sends ids only). */
  private refetcher(item: QueuedChange, entity: EntityType): DataLoader<string, EntityModel | ConnectorError> {
    const key = `${item.connectionId}\u0000${entity}`;
    let loader = this.refetchers.get(key);
    if (!loader) {
      loader = new DataLoader<string, EntityModel | ConnectorError>(
        async (ids) => {
          const owner = await this.services.directory.ownerOf(item.connectionId);
          const bounds = { signal: new AbortController().signal, deadline: Date.now() + this.services.config.limits.refetchDeadlineMs };
          const handle = owner ? this.services.contexts.forConnection(owner.tenant.id, owner.connection, bounds) : null;
          const entityLoader = handle?.connector.loaders[entity] as EntityLoader<EntityModelMap[EntityType]> | undefined;
          if (!handle || !entityLoader)
            return ids.map(() => new ConnectorError('UPSTREAM_NOT_FOUND', `connection ${item.connectionId} cannot read ${entity}`, { retryable: false }));
          try {
            return await entityLoader.byIds(ids, handle.ctx);
          } catch (err) {
            return ids.map(() => (err instanceof ConnectorError ? err : new ConnectorError('UPSTREAM_UNAVAILABLE', String(err))));
          }
        },
        { cache: false, batchScheduleFn: (cb) => setTimeout(cb, REFETCH_BATCH_WINDOW_MS), maxBatchSize: 1_000 },
      );
      this.refetchers.set(key, loader);
    }
    return loader;
  }

  /** The cursor of the tenant's newest change in the log ("0-0" when empty). */
  async headCursor(tenantId: string): Promise<string> {
    return this.log.headCursor(tenantId);
  }

  /** Re-queues a dead letter of this tenant; false if it does not exist (or was replayed already). */
  async replay(tenantId: string, id: string): Promise<boolean> {
    const letter = await this.deadLetters.take(tenantId, id);
    if (!letter) return false;
    await this.queue.replay(letter.item);
    return true;
  }

  /** Shutdown: workers take no new job; jobs in progress finish within graceMs or go back to the queue. */
  stopWorkers(graceMs: number): Promise<WorkerStopReport> {
    return this.queue.stopWorkers(graceMs);
  }

  async close(): Promise<void> {
    await bounded(this.queue.close(), 5_000);
    await bounded(this.log.close(), 3_000);
    this.redis?.disconnect();
  }
}

/** Without a Retry-After, half a minute: QuickBooks' throttle and most providers' windows are per minute. */
const RATE_LIMITED_DEFAULT_DELAY_MS = 30_000;
/** A Retry-After of hours (Xero's daily allowance) is looked at again within this. */
const RATE_LIMITED_MAX_DELAY_MS = 15 * 60_000;
/** The longest an outage-deferred change sleeps between looks at its provider. */
const OUTAGE_MAX_DELAY_MS = 5 * 60_000;

/**
 * A put-off change's delay: `base`, at least 1 s and at most `max`, plus up to 50 % so the changes
 * held back together do not all come back in the same instant.
 */
function deferDelayMs(base: number, max: number): number {
  return Math.round(Math.min(max, Math.max(1_000, base)) * (1 + Math.random() * 0.5));
}

/** When a rate-limited change is tried again: the provider's Retry-After, or the default. */
function rateLimitDelayMs(retryAfterMs: number | null): number {
  return deferDelayMs(retryAfterMs ?? RATE_LIMITED_DEFAULT_DELAY_MS, RATE_LIMITED_MAX_DELAY_MS);
}

/**
 * When a change held back by an outage is tried again: when the breaker lets its next trial call
 * through, or a quarter of the time the change has waited so far if that is longer (up to 5 min),
 * so a long outage does not wake every waiting change each time the breaker half-opens.
 */
function outageDelayMs(reopensInMs: number, waitedMs: number): number {
  return deferDelayMs(Math.max(reopensInMs, Number.isFinite(waitedMs) ? waitedMs / 4 : 0), OUTAGE_MAX_DELAY_MS);
}

function settings(e: GatewayConfig['events']) {
  return {
    concurrency: e.workerConcurrency,
    maxAttempts: e.maxAttempts,
    retryBaseDelayMs: e.retryBaseDelayMs,
    dedupeTtlSeconds: e.dedupeTtlSeconds,
    ...(e.intakeShards ? { intakeShards: e.intakeShards } : {}),
    ...(e.deferMaxAgeMs !== undefined ? { deferMaxAgeMs: e.deferMaxAgeMs } : {}),
  };
}
