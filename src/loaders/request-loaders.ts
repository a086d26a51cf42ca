// Per-request DataLoaders, one per (connection, entity). Every record read in a request goes
// through here: cache first, then ONE connector.byIds call for all misses of a tick (the connector
// chunks by its maxBatchSize), results written back to the cache once the request has answered,
// errors kept per key.
import DataLoader from 'dataloader';
import type { GraphQLError } from 'graphql';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { EntityModelMap, EntityType, InvoiceModel, LineItemModel, OrderModel } from '../../connectors/sdk/models.ts';
import type { Connector, ConnectorContext, EntityLoader, LineItemOwnerLoader } from '../../connectors/sdk/types.ts';
import type { CachedPart, CachedRecord, EntityCache } from '../cache/entity-cache.ts';
import type { ConnectionConfig } from '../config.ts';
import { toPublicError } from '../errors.ts';
import { slotsViolation } from './contract.ts';
import type { Served } from '../models.ts';
import type { Departures } from '../upstream/departures.ts';

export interface ConnectionHandle {
  config: ConnectionConfig;
  connector: Connector;
  /** The connector context for this connection within this request (lazily built). */
  ctx: ConnectorContext;
}

type AnyServed = Served<EntityModelMap[EntityType]>;

/** One loader per connection and entity: its key in RequestLoaders' maps. */
const loaderKey = (connection: ConnectionHandle, entity: EntityType) => `${connection.config.id}\u0000${entity}`;
/** A record's key in RequestLoaders.loaded: its loader's, and its remote id. */
const loadedKey = (connection: ConnectionHandle, entity: EntityType, remoteId: string) => `${loaderKey(connection, entity)}\u0000${remoteId}`;
type ServedLineItemOwner = Served<InvoiceModel | OrderModel>;

export class RequestLoaders {
  private readonly loaders = new Map<string, DataLoader<string, AnyServed>>();
  private readonly rawLoaders = new Map<string, DataLoader<string, unknown>>();
  private readonly lineItemLoaders = new Map<string, DataLoader<ServedLineItemOwner, LineItemModel[], string>>();
  /**
   * Record batches waiting to be sent, by loader: DataLoader's own moment (after the promise jobs
   * of the current turn) unless `prefetch` sends one sooner.
   */
  private readonly due: Array<{ key: string; dispatch: () => void }> = [];
  /** Calls of the loaders' batch function so far (prefetch tells a read from a batch of cache hits). */
  private batchesStarted = 0;
  /**
   * The records this request has read so far (its batches' results and its primes), by loader and
   * id: a resolver asking for one of them gets the record itself rather than a promise, so graphql-js
   * completes it in the same pass (loadLinked). Always the value the loader holds for that id.
   */
  private readonly loaded = new Map<string, AnyServed>();
  /** Cache writes of primed records, grouped so a page of 100 embedded records is one write. */
  private pendingPrimes: Array<{ connection: ConnectionHandle; entity: EntityType; model: EntityModelMap[EntityType] }> = [];

  constructor(
    private readonly tenantId: string,
    private readonly cache: EntityCache,
    /** Settles when the request's answer has been sent: its cache writes wait for it (EntityCache.writeBehind). */
    private readonly answered: Promise<unknown> = Promise.resolve(),
    /** The request's calls on their way out: a batch counts from its cache read until its connector call has started. */
    private readonly departures: Pick<Departures, 'begin'> | null = null,
  ) {}

  /** A cache write of this request, started once its answer has been sent (EntityCache.writeBehind). */
  writeBehind(write: () => Promise<void>): void {
    this.cache.writeBehind(write, this.answered);
  }

  private serve<E extends EntityType>(
    connection: ConnectionHandle,
    model: EntityModelMap[E],
    fetchedAt: string,
    cacheStatus: 'HIT' | 'MISS',
  ): Served<EntityModelMap[E]> {
    // Object.assign, not a spread with an added key: the same own properties, and ~2x faster on
    // a record of ~25 fields (V8 clones the literal's shape only when nothing is added to it);
    // every record of a page passes here.
    const served = Object.assign({}, model) as Served<EntityModelMap[E]>;
    served.served = { tenantId: this.tenantId, connectionId: connection.config.id, fetchedAt, cacheStatus };
    return served;
  }

  /** The record with this id if this request has already read it (undefined: not yet, or it failed). */
  loadedRecord<E extends EntityType>(connection: ConnectionHandle, entity: E, remoteId: string): Served<EntityModelMap[E]> | undefined {
    return this.loaded.get(loadedKey(connection, entity, remoteId)) as Served<EntityModelMap[E]> | undefined;
  }

  loader<E extends EntityType>(connection: ConnectionHandle, entity: E): DataLoader<string, Served<EntityModelMap[E]>> {
    const key = loaderKey(connection, entity);
    let loader = this.loaders.get(key);
    if (!loader) {
      loader = new DataLoader<string, AnyServed>((ids) => ((this.batchesStarted += 1), this.batch(connection, entity, ids)), {
        // The connector splits into provider-sized chunks itself; one call per tick lets it
        // schedule them (parallel batches, bounded fan-out) as the provider needs.
        maxBatchSize: 1_000,
        // No cross-request memory here: that is the EntityCache's job (tenant-scoped, TTL'd).
        cache: true,
        batchScheduleFn: (dispatch) => this.schedule(key, dispatch),
      });
      this.loaders.set(key, loader);
    }
    return loader as unknown as DataLoader<string, Served<EntityModelMap[E]>>;
  }

  /**
   * Reads these records now, in one batch with any other loads of this loader waiting to be sent,
   * rather than when graphql-js asks for them: a list that knows its nodes' linked records will be
   * read (lookahead.ts) starts that read while graphql-js completes the nodes. The resolvers' later
   * loads of the same ids get the same promises (the loader's per-request cache). Whether a batch
   * was sent (none when every id was already loaded or primed).
   */
  prefetch(connection: ConnectionHandle, entity: EntityType, ids: readonly string[]): boolean {
    if (ids.length === 0) return false;
    // loadMany settles with errors as values: nothing is left unhandled if no resolver asks.
    void this.loader(connection, entity).loadMany(ids);
    const key = loaderKey(connection, entity);
    // A batch of cache hits only is dispatched too (DataLoader resolves them in order) but reads
    // nothing: what counts is whether the batch function ran.
    const before = this.batchesStarted;
    for (let i = this.due.length - 1; i >= 0; i--) {
      const entry = this.due[i] as { key: string; dispatch: () => void };
      if (entry.key !== key) continue;
      this.due.splice(i, 1);
      entry.dispatch();
    }
    return this.batchesStarted > before;
  }

  /** DataLoader's batchScheduleFn: its default moment (a tick after the current promise jobs), for every loader at once. */
  private schedule(key: string, dispatch: () => void): void {
    this.due.push({ key, dispatch });
    if (this.due.length > 1) return;
    void Promise.resolve().then(() =>
      process.nextTick(() => {
        for (const entry of this.due.splice(0)) entry.dispatch();
      }),
    );
  }

  /**
   * The provider's raw record for a model served from the cache (which stores raw apart). Batched
   * like records: one cache read per tick, and one byIds call for raws that expired.
   */
  raw(connection: ConnectionHandle, entity: EntityType, remoteId: string): Promise<unknown> {
    const key = loaderKey(connection, entity);
    let loader = this.rawLoaders.get(key);
    if (!loader) {
      loader = new DataLoader<string, unknown>(
        async (ids) => {
          const scope = { tenantId: this.tenantId, connectionId: connection.config.id };
          const cached = await this.cache.getRaw(scope, entity, ids);
          const missing = ids.filter((_, i) => cached[i] === undefined);
          const fresh = new Map<string, unknown>();
          if (missing.length > 0) {
            // Read past the entity cache: the record is cached, only its raw part expired.
            const models = await this.batch(connection, entity, missing, { skipCache: true });
            missing.forEach((id, i) => fresh.set(id, models[i] instanceof Error ? models[i] : ((models[i] as AnyServed).raw ?? null)));
          }
          return ids.map((id, i) => (cached[i] ? cached[i].raw : fresh.get(id)));
        },
        { maxBatchSize: 1_000 },
      );
      this.rawLoaders.set(key, loader);
    }
    return loader.load(remoteId);
  }

  /**
   * Line items of an invoice or order whose connector deferred them (`lineItems` null): one
   * connector call per tick for all parents of a connection and entity, cached beside the record.
   * A cached value counts only with the record read it came with (the parent's fetchedAt), so a
   * refetched record never shows line items older than itself.
   */
  lineItems(connection: ConnectionHandle, entity: 'Invoice' | 'Order', parent: ServedLineItemOwner): Promise<LineItemModel[]> {
    const key = loaderKey(connection, entity);
    let loader = this.lineItemLoaders.get(key);
    if (!loader) {
      loader = new DataLoader<ServedLineItemOwner, LineItemModel[], string>((parents) => this.batchLineItems(connection, entity, parents), {
        maxBatchSize: 1_000,
        cacheKeyFn: (parent) => parent.source.remoteId,
      });
      this.lineItemLoaders.set(key, loader);
    }
    return loader.load(parent);
  }

  private async batchLineItems(
    connection: ConnectionHandle,
    entity: 'Invoice' | 'Order',
    parents: readonly ServedLineItemOwner[],
  ): Promise<Array<LineItemModel[] | GraphQLError>> {
    const scope = { tenantId: this.tenantId, connectionId: connection.config.id };
    const cached = await this.cache.getParts<LineItemModel[]>(
      scope,
      entity,
      'lineItems',
      parents.map((p) => p.source.remoteId),
    );
    const results: Array<LineItemModel[] | GraphQLError | undefined> = parents.map((p, i) =>
      cached[i]?.recordFetchedAt === p.served.fetchedAt ? cached[i].value : undefined,
    );
    const missing = parents.filter((_, i) => results[i] === undefined);
    if (missing.length === 0) return results as LineItemModel[][];

    const loader = connection.connector.loaders[entity] as LineItemOwnerLoader<InvoiceModel | OrderModel> | undefined;
    const fetched = loader?.lineItems
      ? await callConnector(
          connection,
          `${entity}.lineItems`,
          missing.map((p) => p.source.remoteId),
          () => loader.lineItems!(missing, connection.ctx),
        )
      : missing.map(
          () =>
            new ConnectorError(
              'UPSTREAM_BAD_RESPONSE',
              `${connection.connector.manifest.displayName} left ${entity} line items out of the record but has no lineItems loader`,
            ),
        );
    const upstreamScope = { provider: connection.connector.manifest.id, connectionId: connection.config.id };
    const toCache: Array<{ remoteId: string; part: CachedPart }> = [];
    const byId = new Map<string, LineItemModel[] | GraphQLError>();
    missing.forEach((parent, i) => {
      const slot = fetched[i];
      if (Array.isArray(slot)) {
        toCache.push({ remoteId: parent.source.remoteId, part: { value: slot, recordFetchedAt: parent.served.fetchedAt } });
        byId.set(parent.source.remoteId, slot);
      } else {
        byId.set(parent.source.remoteId, toPublicError(slot, upstreamScope));
      }
    });
    this.writeBehind(() => this.cache.setParts(scope, entity, 'lineItems', toCache));
    return results.map((r, i) => r ?? (byId.get((parents[i] as ServedLineItemOwner).source.remoteId) as LineItemModel[] | GraphQLError));
  }

  /**
   * Records that arrived embedded in another response (Stripe expand[], list pages) are handed to
   * the loader and the cache, so resolving them later costs no upstream call.
   */
  prime<E extends EntityType>(
    connection: ConnectionHandle,
    entity: E,
    models: Array<EntityModelMap[E]>,
    fetchedAt = new Date().toISOString(),
  ): Array<Served<EntityModelMap[E]>> {
    const served = models.map((model) => this.primeLoader(connection, entity, model, fetchedAt));
    const records = models.map((model) => ({ model, fetchedAt }));
    this.writeBehind(() => this.cache.setRecords({ tenantId: this.tenantId, connectionId: connection.config.id }, entity, records));
    return served;
  }

  /** Prime one record now; its cache write is grouped with the others of this tick. */
  primeOne<E extends EntityType>(connection: ConnectionHandle, entity: E, model: EntityModelMap[E]): void {
    const fetchedAt = new Date().toISOString();
    this.primeLoader(connection, entity, model, fetchedAt);
    if (this.pendingPrimes.length === 0) this.writeBehind(() => this.flushPrimes(fetchedAt));
    this.pendingPrimes.push({ connection, entity, model });
  }

  /** Puts a freshly read record into this request's loader (replacing any earlier value). */
  private primeLoader<E extends EntityType>(connection: ConnectionHandle, entity: E, model: EntityModelMap[E], fetchedAt: string): Served<EntityModelMap[E]> {
    const served = this.serve(connection, model, fetchedAt, 'MISS');
    this.loader(connection, entity).clear(model.source.remoteId).prime(model.source.remoteId, served);
    // A prime replaces what the loader held: so does it here.
    this.loaded.set(loadedKey(connection, entity, model.source.remoteId), served as unknown as AnyServed);
    return served;
  }

  private async flushPrimes(fetchedAt: string): Promise<void> {
    const pending = this.pendingPrimes;
    this.pendingPrimes = [];
    const groups = new Map<string, { connection: ConnectionHandle; entity: EntityType; records: CachedRecord[] }>();
    for (const p of pending) {
      const key = loaderKey(p.connection, p.entity);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { connection: p.connection, entity: p.entity, records: [] }));
      g.records.push({ model: p.model, fetchedAt });
    }
    await Promise.all(
      [...groups.values()].map((g) => this.cache.setRecords({ tenantId: this.tenantId, connectionId: g.connection.config.id }, g.entity, g.records)),
    );
  }

  private async batch<E extends EntityType>(
    connection: ConnectionHandle,
    entity: E,
    ids: readonly string[],
    options: { skipCache?: boolean } = {},
  ): Promise<Array<AnyServed | GraphQLError>> {
    const scope = { tenantId: this.tenantId, connectionId: connection.config.id };
    const upstreamScope = { provider: connection.connector.manifest.id, connectionId: connection.config.id };
    // On its way out until the connector's call has started (the upstream client counts it from there).
    const started = this.departures?.begin();
    let results: Array<AnyServed | GraphQLError | undefined>;
    let missIds: string[];
    let call: Promise<Array<EntityModelMap[E] | ConnectorError>> | null;
    try {
      const cached = options.skipCache ? ids.map(() => undefined) : await this.cache.getRecords<EntityModelMap[E]>(scope, entity, ids);
      results = cached.map((hit) => (hit ? (this.serve(connection, hit.model, hit.fetchedAt, 'HIT') as unknown as AnyServed) : undefined));
      missIds = ids.filter((_, i) => results[i] === undefined);
      if (missIds.length === 0) return this.remember(connection, entity, ids, results as AnyServed[], options.skipCache);
      const entityLoader = connection.connector.loaders[entity] as EntityLoader<EntityModelMap[E]> | undefined;
      call = entityLoader ? callConnector(connection, `${entity}.byIds`, missIds, () => entityLoader.byIds(missIds, connection.ctx)) : null;
    } finally {
      started?.();
    }
    const fetched = call
      ? await call
      : missIds.map(() => new ConnectorError('UPSTREAM_NOT_FOUND', `${connection.connector.manifest.displayName} does not serve ${entity} records`));
    const fetchedAt = new Date().toISOString();
    const toCache: CachedRecord[] = [];
    const byId = new Map<string, AnyServed | GraphQLError>();
    missIds.forEach((id, i) => {
      const slot = fetched[i];
      if (slot instanceof ConnectorError || !slot) {
        byId.set(id, toPublicError(slot, upstreamScope));
      } else {
        toCache.push({ model: slot, fetchedAt });
        byId.set(id, this.serve(connection, slot, fetchedAt, 'MISS') as unknown as AnyServed);
      }
    });
    this.writeBehind(() => this.cache.setRecords(scope, entity, toCache));
    return this.remember(
      connection,
      entity,
      ids,
      results.map((r, i) => r ?? (byId.get(ids[i] as string) as AnyServed | GraphQLError)),
      options.skipCache,
    );
  }

  /**
   * A batch's records, as DataLoader will hold them (a prime made while the batch was out stays: the
   * loader keeps it too). Not a raw loader's re-read past the cache (skipCache): no record loader holds those.
   */
  private remember<T extends AnyServed | GraphQLError>(
    connection: ConnectionHandle,
    entity: EntityType,
    ids: readonly string[],
    results: T[],
    skipCache?: boolean,
  ): T[] {
    if (skipCache) return results;
    results.forEach((r, i) => {
      const key = loadedKey(connection, entity, ids[i] as string);
      if (!(r instanceof Error) && !this.loaded.has(key)) this.loaded.set(key, r as AnyServed);
    });
    return results;
  }
}

/**
 * Runs one batched connector call that answers per slot: `count` slots in order, or a thrown
 * failure that then fills every slot. A wrong number of slots is the connector's bug, reported
 * in every slot rather than misaligning results with keys.
 */
/** Calls a connector's batch method; a broken answer (wrong slot count, empty slot) or a throw becomes every slot's error. */
async function callConnector<T>(
  connection: ConnectionHandle,
  operation: string,
  ids: readonly string[],
  call: () => Promise<Array<T | ConnectorError>>,
): Promise<Array<T | ConnectorError>> {
  try {
    const slots = await call();
    const broken = slotsViolation(connection.connector, operation, ids, slots);
    if (broken) throw broken;
    return slots;
  } catch (err) {
    logUpstreamFailure(connection, err, operation);
    return ids.map(() => err as ConnectorError);
  }
}

/** One warn line per failed upstream call: code and status, never bodies or credentials. */
export function logUpstreamFailure(connection: ConnectionHandle, err: unknown, operation: string): void {
  const e = err instanceof ConnectorError ? err : null;
  connection.ctx.log.warn(
    { operation, code: e?.code ?? 'UNEXPECTED', upstreamStatus: e?.upstreamStatus ?? null, upstreamRequestId: e?.upstreamRequestId ?? null },
    e ? e.message : 'unexpected connector failure',
  );
}
