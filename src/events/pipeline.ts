// The event path: verified webhook changes → durable queue → worker (refetch thin events through
// the connector, drop out-of-order versions, refresh the cache) → change log → subscriptions.
// Every replica runs the same pipeline; they share the work through the queue and the changes
// through the log.
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import { Redis } from 'ioredis';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { EntityModel, EntityModelMap, EntityType } from '../../connectors/sdk/models.ts';
import type { EntityLoader } from '../../connectors/sdk/types.ts';
import type { Logger } from 'pino';
import type { TenantDirectory } from '../callers/tenants.ts';
import type { EntityCache } from '../cache/entity-cache.ts';
import type { GatewayConfig } from '../config.ts';
import type { ConnectorContexts } from '../upstream/connector-context.ts';
import { bounded } from '../util/bounded.ts';
import { RedisChangeLog, MemoryChangeLog, type ChangeLog } from './change-log.ts';
import { MemoryDataRequests, RedisDataRequests, type ComplianceDeps } from './compliance.ts';
import type { QueuedChange } from './model.ts';
import { BullChangeQueue, MemoryChangeQueue, PermanentFailure, type ChangeQueue } from './queue.ts';
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
}

export class EventPipeline {
  readonly queue: ChangeQueue;
  readonly log: ChangeLog;
  readonly deadLetters: DeadLetterStore;
  /** Privacy requests from providers (compliance.ts): what they purge, where data requests are kept. */
  readonly compliance: ComplianceDeps;
  private readonly versions: VersionStore;
  private readonly redis: Redis | null;
  private readonly refetchers = new Map<string, DataLoader<string, EntityModel | ConnectorError>>();

  constructor(private readonly services: EventPipelineDeps) {
    const { config } = services;
    const onError = (err: unknown) => services.log.warn({ err: String(err) }, 'event pipeline: Redis error');
    const prefix = `${config.keyPrefix}:events`;
    if (config.redisUrl) {
      this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2_000 });
      this.redis.on('error', onError);
      this.queue = new BullChangeQueue(config.redisUrl, prefix, settings(config.events), onError);
      this.log = new RedisChangeLog(config.redisUrl, prefix, config.events.retainedChanges, onError, config.events.dedupeTtlSeconds);
      this.versions = new RedisVersionStore(this.redis, prefix, config.events.dedupeTtlSeconds);
      this.deadLetters = new RedisDeadLetterStore(this.redis, prefix);
      this.compliance = { cache: services.cache, changeLog: this.log, dataRequests: new RedisDataRequests(this.redis, `${config.keyPrefix}:compliance`) };
    } else {
      this.redis = null;
      this.queue = new MemoryChangeQueue(settings(config.events));
      this.log = new MemoryChangeLog(config.events.retainedChanges);
      this.versions = new MemoryVersionStore();
      this.deadLetters = new MemoryDeadLetterStore();
      this.compliance = { cache: services.cache, changeLog: this.log, dataRequests: new MemoryDataRequests() };
    }
  }

  start(): void {
    this.log.start();
    this.queue.start(
      (item, attempt) => this.process(item, attempt),
      async (item, error, attempts) => {
        this.services.log.error({ connectionId: item.connectionId, eventId: item.change.eventId, attempts, error }, 'event moved to the dead-letter store');
        await this.deadLetters.add(item, error, attempts);
      },
    );
  }

  /** One change: refetch if thin, drop if stale, refresh the cache, append to the log. */
  private async process(item: QueuedChange, attempt: number): Promise<void> {
    const owner = await this.services.directory.ownerOf(item.connectionId);
    if (!owner || owner.tenant.id !== item.tenantId)
      throw new PermanentFailure(`connection ${item.connectionId} is no longer configured for tenant ${item.tenantId}`);
    const { change } = item;
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
        else if (fetched.retryable) throw fetched;
        else throw new PermanentFailure(`${fetched.code}: ${fetched.message}`);
      } else if (fetched instanceof Error) throw fetched;
      else model = fetched as EntityModel;
    }

    const updatedAt = model?.source.remoteUpdatedAt ? Date.parse(model.source.remoteUpdatedAt) : NaN;
    const version = Number.isFinite(updatedAt) ? updatedAt : (change.version ?? Date.parse(change.occurredAt));
    const recordKey = `${item.tenantId}:${item.connectionId}:${change.entity}:${change.remoteId}`;
    const published = type === 'DELETED' ? null : model;
    const fingerprint = createHash('sha256').update(type).update(JSON.stringify(published)).digest('base64url').slice(0, 22);
    const verdict = await this.versions.advance(recordKey, version, fingerprint);
    if (verdict !== 'newer') {
      this.services.log.debug({ eventId: change.eventId, attempt, verdict }, 'older than, or identical to, a version already published; dropped');
      return;
    }

    // Invalidate before publishing: a client that queries after receiving the event sees this version.
    const scope = { tenantId: item.tenantId, connectionId: item.connectionId };
    const now = new Date().toISOString();
    await this.services.cache.deleteRecord(scope, change.entity, change.remoteId);
    if (model && type !== 'DELETED') await this.services.cache.setRecords(scope, change.entity, [{ model, fetchedAt: now }]);
    // Lists may have gained, lost or reordered this record: their cached pages stop counting.
    await this.services.cache.invalidateLists(scope, change.entity);

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

  /** The cursor of the newest change in the log ("0-0" when empty). */
  async headCursor(): Promise<string> {
    return this.log.headCursor();
  }

  /** Re-queues a dead letter of this tenant; false if it does not exist (or was replayed already). */
  async replay(tenantId: string, id: string): Promise<boolean> {
    const letter = await this.deadLetters.take(tenantId, id);
    if (!letter) return false;
    await this.queue.replay(letter.item);
    return true;
  }

  async close(): Promise<void> {
    await bounded(this.queue.close(), 5_000);
    await bounded(this.log.close(), 3_000);
    this.redis?.disconnect();
  }
}

function settings(e: GatewayConfig['events']) {
  return { concurrency: e.workerConcurrency, maxAttempts: e.maxAttempts, retryBaseDelayMs: e.retryBaseDelayMs, dedupeTtlSeconds: e.dedupeTtlSeconds };
}
