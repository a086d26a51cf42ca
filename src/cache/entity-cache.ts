// Read-through cache of mapped records and list pages. Keys always carry tenant and connection, so
// two tenants with the same remote id never share an entry. Any store failure or slowness is a
// miss (fail open): the cache can make answers faster, never make them fail.
import { randomUUID } from 'node:crypto';
import type { Keyv } from 'keyv';
import type { EntityModel, EntityType } from '../../connectors/sdk/models.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface CachedRecord<M extends EntityModel = EntityModel> {
  /** On reads from the cache, `raw` is absent (undefined): see getRaw(). */
  model: M;
  fetchedAt: string;
}

export interface CachedPage {
  remoteIds: string[];
  endCursor: string | null;
  hasNextPage: boolean;
  totalCount: number | null;
  fetchedAt: string;
  /** The list generation the page was read under (see listGenerationKey); absent: none yet. */
  generation?: string | null;
}

export interface CachedPart<P = unknown> {
  value: P;
  /** fetchedAt of the record read the part belongs to: the part counts only with that very read. */
  recordFetchedAt: string;
}

export interface CacheScope {
  tenantId: string;
  connectionId: string;
}

export interface EntityCacheOptions {
  ttlSeconds: Record<EntityType | 'listPage', number>;
  opTimeoutMs: number;
  onError: (err: unknown, op: string) => void;
}

// Redis keys must not be ambiguous: ':' inside an id cannot fake another tenant's key.
const part = (s: string) => encodeURIComponent(s);

/**
 * Bumped whenever a model gains a field the schema declares non-null (v2: Invoice.kind), so a
 * rolling upgrade never serves a record cached by the previous version without it.
 */
const MODEL_SHAPE = 2;

export function entityKey(scope: CacheScope, entity: EntityType, remoteId: string): string {
  return `e${MODEL_SHAPE}:${part(scope.tenantId)}:${part(scope.connectionId)}:${entity}:${part(remoteId)}`;
}

/** The provider's raw record lives apart from the model: it is most of the bytes and rarely asked for. */
export function rawKey(scope: CacheScope, entity: EntityType, remoteId: string): string {
  return `r:${part(scope.tenantId)}:${part(scope.connectionId)}:${entity}:${part(remoteId)}`;
}

/**
 * A part of a record its connector serves apart (deferred line items), cached beside the record.
 * Kept apart from the model because only queries that select it pay for it.
 */
export function deferredPartKey(scope: CacheScope, entity: EntityType, name: string, remoteId: string): string {
  return `x:${part(scope.tenantId)}:${part(scope.connectionId)}:${entity}.${part(name)}:${part(remoteId)}`;
}

export function pageKey(scope: CacheScope, entity: EntityType, argsFingerprint: string): string {
  return `p:${part(scope.tenantId)}:${part(scope.connectionId)}:${entity}:${argsFingerprint}`;
}

/**
 * A connection's list generation per entity: a fresh value whenever a change event for that
 * entity is processed. Cached pages remember the generation they were read under and count only
 * while it is current, so a created, deleted or changed record never hides behind a stale page.
 */
export function listGenerationKey(scope: CacheScope, entity: EntityType): string {
  return `g:${part(scope.tenantId)}:${part(scope.connectionId)}:${entity}`;
}

const newGeneration = () => `${Date.now().toString(36)}-${randomUUID()}`;

/** Longest a request holds its cache writes back (a subscription's operations never mark an answer). */
const WRITE_BEHIND_MAX_HOLD_MS = 1_000;

export class EntityCache {
  /** Writes handed to writeBehind and not finished yet. */
  private readonly behind = new Set<Promise<void>>();
  /** Releases of writes still held back by their request (settled() starts them at once). */
  private readonly held = new Set<() => void>();

  constructor(
    private readonly keyv: Keyv,
    private readonly metrics: Metrics | null,
    private readonly options: EntityCacheOptions,
  ) {}

  /**
   * A request's own cache writes, started once `after` settles (its answer was sent), or after
   * WRITE_BEHIND_MAX_HOLD_MS: the answer waits neither for the round trip nor for serializing
   * the records. With Redis, writing a page of 100 records, then the page's linked records, held
   * a cold query 2–7 ms each (docs/benchmarks.md, session 11). The request reads those records
   * from its own loaders meanwhile; a request that starts after this one answered issues its
   * reads after these writes on the same connection (the memory store applies them at once).
   */
  writeBehind(write: () => Promise<void>, after: Promise<unknown>): void {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    this.held.add(release);
    const cap = setTimeout(release, WRITE_BEHIND_MAX_HOLD_MS);
    cap.unref();
    after.then(release, release);
    const done: Promise<void> = released
      .then(() => {
        clearTimeout(cap);
        this.held.delete(release);
        return write();
      })
      .catch(() => undefined) // guarded() reports a failed write; nothing is left unhandled
      .finally(() => this.behind.delete(done));
    this.behind.add(done);
  }

  /** Starts every held write and resolves once all of them have finished (before the store closes). */
  async settled(): Promise<void> {
    for (const release of this.held) release();
    while (this.behind.size > 0) await Promise.all([...this.behind]);
  }

  private async guarded<T>(op: string, fallback: T, work: () => Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        work(),
        new Promise<T>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`cache ${op} took longer than ${this.options.opTimeoutMs} ms`)), this.options.opTimeoutMs);
        }),
      ]);
    } catch (err) {
      this.options.onError(err, op);
      this.metrics?.cacheRequests.inc({ kind: op, result: 'error' });
      return fallback;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Every cached record and list page of one tenant (for personal-data export and purge), or null
   * when the store cannot be enumerated (the in-process LRU): the caller then works from the ids
   * it knows. Keys without the tenant's prefix are never read.
   */
  scanTenant(tenantId: string): AsyncIterable<{ key: string; kind: 'record' | 'page'; connectionId: string; entity: string; value: unknown }> | null {
    const iterate = this.keyv.iterator;
    if (!iterate) return null;
    const mine = [`e${MODEL_SHAPE}:${part(tenantId)}:`, `p:${part(tenantId)}:`];
    const keyv = this.keyv;
    return (async function* () {
      for await (const [rawKey, value] of iterate.call(keyv, keyv.namespace) as AsyncIterable<[string, unknown]>) {
        const key = keyv.namespace && rawKey.startsWith(`${keyv.namespace}:`) ? rawKey.slice(keyv.namespace.length + 1) : rawKey;
        if (!mine.some((p) => key.startsWith(p))) continue;
        const [kind, , connection = '', entity = ''] = key.split(':');
        yield { key, kind: kind === `e${MODEL_SHAPE}` ? ('record' as const) : ('page' as const), connectionId: decodeURIComponent(connection), entity, value };
      }
    })();
  }

  /** Deletes cache entries by their keys (as scanTenant names them). */
  async deleteKeys(keys: string[]): Promise<void> {
    if (keys.length) await this.keyv.deleteMany(keys);
  }

  private countLookups(kind: string, values: unknown[]): void {
    let hits = 0;
    for (const v of values) if (v) hits++;
    this.metrics?.cacheRequests.inc({ kind, result: 'hit' }, hits);
    this.metrics?.cacheRequests.inc({ kind, result: 'miss' }, values.length - hits);
  }

  /** Whether records of `entity` are cached at all: with a TTL of 0 nothing is written, so nothing is read either. */
  private caches(entity: EntityType): boolean {
    return this.options.ttlSeconds[entity] > 0;
  }

  async getRecords<M extends EntityModel>(scope: CacheScope, entity: EntityType, remoteIds: readonly string[]): Promise<Array<CachedRecord<M> | undefined>> {
    if (remoteIds.length === 0) return [];
    if (!this.caches(entity)) return remoteIds.map(() => undefined);
    const misses = remoteIds.map(() => undefined);
    const values = await this.guarded('entity', misses as Array<CachedRecord<M> | undefined>, async () => {
      const got = await this.keyv.getMany<CachedRecord<M>>(remoteIds.map((id) => entityKey(scope, entity, id)));
      return got.map((v) => (v && typeof v === 'object' && 'model' in v ? v : undefined));
    });
    this.countLookups('entity', values);
    return values;
  }

  /**
   * Writes each record as two entries: the model without `raw` (read on every hit) and `raw`
   * (read only when a query selects it). Measured: Stripe invoices are ~11 KB with raw, ~2.5 KB
   * without, and parsing cached JSON dominated warm queries.
   */
  async setRecords(scope: CacheScope, entity: EntityType, records: Array<CachedRecord>): Promise<void> {
    if (records.length === 0) return;
    const ttl = this.options.ttlSeconds[entity] * 1000;
    if (ttl <= 0) return;
    const entries: Array<{ key: string; value: unknown; ttl: number }> = [];
    for (const r of records) {
      const { raw, ...model } = r.model;
      entries.push({ key: entityKey(scope, entity, r.model.source.remoteId), value: { model, fetchedAt: r.fetchedAt }, ttl });
      entries.push({ key: rawKey(scope, entity, r.model.source.remoteId), value: { raw: raw ?? null }, ttl });
    }
    await this.guarded('entity-write', undefined, async () => {
      await this.keyv.setMany(entries);
    });
  }

  /** Raw provider records by remote id; undefined where not cached. */
  async getRaw(scope: CacheScope, entity: EntityType, remoteIds: readonly string[]): Promise<Array<{ raw: unknown } | undefined>> {
    if (remoteIds.length === 0) return [];
    if (!this.caches(entity)) return remoteIds.map(() => undefined);
    const values = await this.guarded('raw', remoteIds.map(() => undefined) as Array<{ raw: unknown } | undefined>, async () => {
      const got = await this.keyv.getMany<{ raw: unknown }>(remoteIds.map((id) => rawKey(scope, entity, id)));
      return got.map((v) => (v && typeof v === 'object' && 'raw' in v ? v : undefined));
    });
    this.countLookups('raw', values);
    return values;
  }

  /** Deferred parts (e.g. `lineItems`) of records by remote id; undefined where not cached. */
  async getParts<P>(scope: CacheScope, entity: EntityType, name: string, remoteIds: readonly string[]): Promise<Array<CachedPart<P> | undefined>> {
    if (remoteIds.length === 0) return [];
    if (!this.caches(entity)) return remoteIds.map(() => undefined);
    const values = await this.guarded('part', remoteIds.map(() => undefined) as Array<CachedPart<P> | undefined>, async () => {
      const got = await this.keyv.getMany<CachedPart<P>>(remoteIds.map((id) => deferredPartKey(scope, entity, name, id)));
      return got.map((v) => (v && typeof v === 'object' && 'recordFetchedAt' in v ? v : undefined));
    });
    this.countLookups('part', values);
    return values;
  }

  /** Writes deferred parts with the entity's TTL (a part never outlives what its record would). */
  async setParts(scope: CacheScope, entity: EntityType, name: string, parts: Array<{ remoteId: string; part: CachedPart }>): Promise<void> {
    const ttl = this.options.ttlSeconds[entity] * 1000;
    if (parts.length === 0 || ttl <= 0) return;
    await this.guarded('part-write', undefined, async () => {
      await this.keyv.setMany(parts.map((p) => ({ key: deferredPartKey(scope, entity, name, p.remoteId), value: p.part, ttl })));
    });
  }

  async deleteRecord(scope: CacheScope, entity: EntityType, remoteId: string): Promise<void> {
    await this.guarded('entity-delete', undefined, async () => {
      await this.keyv.deleteMany([entityKey(scope, entity, remoteId), rawKey(scope, entity, remoteId)]);
    });
  }

  /**
   * Forgets records for good (privacy redaction): the model, the raw record and the deferred parts
   * of each. Unlike the other operations a failure is thrown, so the caller can report it.
   */
  async forgetRecords(scope: CacheScope, entity: EntityType, remoteIds: readonly string[], partNames: readonly string[] = ['lineItems']): Promise<void> {
    if (remoteIds.length === 0) return;
    const keys = remoteIds.flatMap((id) => [
      entityKey(scope, entity, id),
      rawKey(scope, entity, id),
      ...partNames.map((n) => deferredPartKey(scope, entity, n, id)),
    ]);
    await this.keyv.deleteMany(keys);
  }

  /**
   * Forgets everything cached for one connection (records, raw records, parts, pages, list
   * generations): a scan of the cache's namespace, for the rare account-wide redaction. Throws on failure.
   */
  async forgetConnection(scope: CacheScope): Promise<number> {
    const tail = `:${part(scope.tenantId)}:${part(scope.connectionId)}:`;
    // Record keys carry the model-shape version (e2:…); any version of this connection is forgotten.
    const mine = (key: string) => /^(?:e\d*|[rxpg]):/.test(key) && key.slice(key.indexOf(':')).startsWith(tail);
    const keys: string[] = [];
    if (!this.keyv.iterator) throw new Error('the cache store cannot list its keys');
    for await (const [key] of this.keyv.iterator(this.keyv.namespace) as AsyncGenerator<[string, unknown]>) {
      // Keys come back with or without the namespace, depending on the store.
      const bare = this.keyv.namespace && key.startsWith(`${this.keyv.namespace}:`) ? key.slice(this.keyv.namespace.length + 1) : key;
      if (mine(bare)) keys.push(bare);
    }
    if (keys.length) await this.keyv.deleteMany(keys);
    return keys.length;
  }

  /** A cached page still valid for the current list generation (one round trip for both keys). */
  async getPage(scope: CacheScope, entity: EntityType, fingerprint: string): Promise<{ page: CachedPage | undefined; generation: string | null }> {
    if (this.options.ttlSeconds.listPage <= 0) return { page: undefined, generation: null };
    const [page, generation] = await this.guarded('page', [undefined, null] as [CachedPage | undefined, string | null], async () => {
      const [p, g] = await this.keyv.getMany<unknown>([pageKey(scope, entity, fingerprint), listGenerationKey(scope, entity)]);
      return [(p ?? undefined) as CachedPage | undefined, typeof g === 'string' ? g : null];
    });
    const valid = page !== undefined && generation !== null && page.generation === generation ? page : undefined;
    this.metrics?.cacheRequests.inc({ kind: 'page', result: valid ? 'hit' : 'miss' });
    if (generation !== null) return { page: valid, generation };
    // No generation yet (or it was evicted): start one before the provider is asked, so the page
    // about to be fetched is tagged with a value no earlier page carries, and any change event
    // after this point replaces it.
    const fresh = newGeneration();
    const stored = await this.guarded('page-generation', false, async () => {
      await this.keyv.set(listGenerationKey(scope, entity), fresh, this.generationTtlMs());
      return true;
    });
    return { page: undefined, generation: stored ? fresh : null };
  }

  private generationTtlMs(): number {
    // Outlives every page written under it (pages live listPage seconds), and then some.
    return Math.max(this.options.ttlSeconds.listPage * 2, 3600) * 1000;
  }

  /** Stores a page read under `generation` (the one getPage reported before the provider was asked). */
  async setPage(scope: CacheScope, entity: EntityType, fingerprint: string, page: CachedPage, generation: string | null): Promise<void> {
    const ttl = this.options.ttlSeconds.listPage * 1000;
    // Without a generation (the store did not take one) a page could never be told stale: skip it.
    if (ttl <= 0 || generation === null) return;
    await this.guarded('page-write', undefined, async () => {
      await this.keyv.set(pageKey(scope, entity, fingerprint), { ...page, generation }, ttl);
    });
  }

  /**
   * The current list generations of several connection × entity pairs in one round trip, starting
   * one where none exists yet (as getPage does, so a page read afterwards is tagged with the same
   * value). Null when the store does not answer in time.
   */
  async generations(tenantId: string, pairs: ReadonlyArray<{ connectionId: string; entity: EntityType }>): Promise<Array<string | null> | null> {
    if (pairs.length === 0) return [];
    const keys = pairs.map((p) => listGenerationKey({ tenantId, connectionId: p.connectionId }, p.entity));
    return this.guarded('generations', null as Array<string | null> | null, async () => {
      const got = (await this.keyv.getMany<unknown>(keys)).map((g) => (typeof g === 'string' ? g : null));
      const missing = got.flatMap((g, i) => (g === null ? [i] : []));
      if (missing.length > 0) {
        const ttl = this.generationTtlMs();
        const fresh = missing.map((i) => ({ key: keys[i] as string, value: newGeneration(), ttl }));
        await this.keyv.setMany(fresh);
        missing.forEach((i, n) => (got[i] = fresh[n]!.value));
      }
      return got;
    });
  }

  /** Starts a new list generation: every cached page of this connection and entity stops counting. */
  async invalidateLists(scope: CacheScope, entity: EntityType): Promise<void> {
    await this.guarded('page-invalidate', undefined, async () => {
      await this.keyv.set(listGenerationKey(scope, entity), newGeneration(), this.generationTtlMs());
    });
  }
}
