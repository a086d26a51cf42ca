// Whole-response cache for GraphQL queries: a hit answers with the stored bytes and skips parsing,
// validation and execution. Correct by construction rather than by TTL:
// - the key is the caller's tenant, scopes and connection set plus the exact request bytes, so two
//   tenants (or two keys of one tenant with different scopes) never share an entry;
// - an entry remembers the list generations (see entity-cache.ts listGenerationKey) of every
//   connection × entity type its answer was built from, read BEFORE execution began. The event
//   pipeline replaces a generation before it publishes a change, and a hit compares the stored
//   generations with the current ones in the shared store, so once a subscriber can hear of a
//   change, no replica serves an answer built before it.
// Bytes live in-process (bounded LRU, per replica); only the small generation values are shared.
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { Kind, TypeInfo, getNamedType, visit, visitWithTypeInfo, type DocumentNode, type GraphQLSchema, type OperationDefinitionNode } from 'graphql';
import { ENTITY_TYPES, type EntityType } from '../../connectors/sdk/models.ts';
import type { ConnectionConfig } from '../config.ts';
import type { Metrics } from '../observability/metrics.ts';
import type { EntityCache } from './entity-cache.ts';

export interface ResponseCacheOptions {
  /** Longest an entry is served; 0 disables the cache. Never longer than the record and list-page TTLs it was built from. */
  ttlSeconds: number;
  /** Bound of the in-process store (sum of body sizes). */
  maxBytes: number;
  /** Larger answers are not stored. */
  maxEntryBytes: number;
}

/** Who asks, as far as it changes the answer. */
export interface ResponseCacheCaller {
  tenantId: string;
  scopes: Iterable<string>;
  connections: readonly ConnectionConfig[];
}

interface Tag {
  connectionId: string;
  entity: EntityType;
}

interface Entry {
  body: string;
  contentType: string;
  tags: Tag[];
  generations: Array<string | null>;
}

/** A request's read of the cache (ResponseCache.find). */
export interface CacheFind {
  result: 'hit' | 'miss' | 'stale' | 'error';
  answer: { body: string; contentType: string } | null;
  /** For a request that executes: where and under which generations its answer is stored. */
  pending: PendingStore | null;
}

/** What the miss path needs to store its answer: the key and the generations read before execution. */
export interface PendingStore {
  key: string;
  tenantId: string;
  connections: string[];
  generations: Map<string, string | null>;
}

// Root fields whose answers depend only on the tenant's records (and so on the generations).
// Anything else (connections, API keys, dead letters, the change cursor, a federation router's
// `_entities`, whose union type names no entity the tagging below would see) is never cached.
const CACHEABLE_ROOT_FIELDS = new Set(['node', 'nodes', 'contact', 'contacts', 'invoice', 'invoices', 'order', 'orders', '__typename', '__schema', '__type']);
// They describe this very read: a stored answer would report the read that built it.
const PER_READ_FIELDS = new Set(['cacheStatus', 'fetchedAt']);

const tagId = (connectionId: string, entity: EntityType) => `${connectionId}\u0000${entity}`;

export class ResponseCache {
  private readonly entries: LRUCache<string, Entry>;

  constructor(
    /** The record cache: it owns the list generations both caches are invalidated by. */
    private readonly records: Pick<EntityCache, 'generations'>,
    private readonly metrics: Metrics | null,
    private readonly options: ResponseCacheOptions,
  ) {
    this.entries = new LRUCache<string, Entry>({
      maxSize: Math.max(1, options.maxBytes),
      sizeCalculation: (e) => Math.max(1, e.body.length),
      ttl: Math.max(1, options.ttlSeconds) * 1000,
    });
  }

  get enabled(): boolean {
    return this.options.ttlSeconds > 0;
  }

  /**
   * The entry key for a POSTed JSON body. Everything that can change the answer is in it: tenant,
   * scopes, the connection set (ids and non-secret settings: a reconnect to another account changes
   * them), the Accept header (it decides the response media type) and the body bytes themselves.
   */
  keyFor(caller: ResponseCacheCaller, accept: string | undefined, body: Buffer): string {
    const h = createHash('sha256');
    h.update(caller.tenantId).update('\u0000');
    h.update([...caller.scopes].sort().join(',')).update('\u0000');
    for (const c of caller.connections) h.update(JSON.stringify([c.id, c.provider, c.baseUrl ?? null, c.settings ?? null])).update('\u0001');
    h.update('\u0000')
      .update(accept ?? '')
      .update('\u0000');
    h.update(body);
    return h.digest('base64url');
  }

  /**
   * What the cache holds for a request: the stored answer when every generation it was built under
   * is still current (a hit); otherwise the generations read for storing this request's answer
   * (null when the store did not answer: the answer is then not stored). Not counted in the
   * metrics until `counted` (the route reads while the tenant is being admitted, and a refused
   * request's read is no lookup).
   */
  async find(key: string, caller: ResponseCacheCaller): Promise<CacheFind> {
    const entry = this.entries.get(key);
    let result: CacheFind['result'] = 'miss';
    if (entry) {
      const current = await this.readGenerations(
        caller.tenantId,
        entry.tags.map((t) => t.connectionId),
        entry.tags.map((t) => t.entity),
      );
      if (current !== null && current.every((g, i) => g === entry.generations[i])) {
        return { result: 'hit', answer: { body: entry.body, contentType: entry.contentType }, pending: null };
      }
      this.entries.delete(key);
      result = current === null ? 'error' : 'stale';
    }
    return { result, answer: null, pending: await this.prepare(key, caller) };
  }

  /** Counts a find whose request was admitted. */
  counted(found: CacheFind): void {
    this.metrics?.cacheRequests.inc({ kind: 'response', result: found.result });
  }

  /**
   * Reads the generations of every connection × entity type before the query runs. A change
   * processed after this point replaces one of them, and the stored answer stops counting.
   * Null when the store does not answer: the answer is then not stored.
   */
  private async prepare(key: string, caller: ResponseCacheCaller): Promise<PendingStore | null> {
    const connections = caller.connections.map((c) => c.id);
    const ids = connections.flatMap((id) => ENTITY_TYPES.map(() => id));
    const entities = connections.flatMap(() => [...ENTITY_TYPES]);
    const values = await this.readGenerations(caller.tenantId, ids, entities);
    if (values === null) return null;
    const generations = new Map<string, string | null>();
    values.forEach((g, i) => generations.set(tagId(ids[i] as string, entities[i] as EntityType), g));
    return { key, tenantId: caller.tenantId, connections, generations };
  }

  /** Stores an answer that `cacheableEntities` accepted, tagged with the entity types it read. */
  save(pending: PendingStore, entities: ReadonlySet<EntityType>, body: string, contentType: string): void {
    if (body.length > this.options.maxEntryBytes) return;
    const tags: Tag[] = [];
    const generations: Array<string | null> = [];
    for (const connectionId of pending.connections)
      for (const entity of entities) {
        tags.push({ connectionId, entity });
        generations.push(pending.generations.get(tagId(connectionId, entity)) ?? null);
      }
    this.entries.set(pending.key, { body, contentType, tags, generations });
  }

  private readGenerations(tenantId: string, connectionIds: string[], entities: EntityType[]): Promise<Array<string | null> | null> {
    return this.records.generations(
      tenantId,
      connectionIds.map((connectionId, i) => ({ connectionId, entity: entities[i] as EntityType })),
    );
  }
}

/**
 * The entity types an answer to this operation can contain, or null when the operation must not be
 * cached: not a query, a root field outside the record reads, or a per-read field (cacheStatus,
 * fetchedAt) selected anywhere.
 */
export function cacheableEntities(schema: GraphQLSchema, document: DocumentNode, operation: OperationDefinitionNode): Set<EntityType> | null {
  if (operation.operation !== 'query') return null;
  for (const sel of operation.selectionSet.selections) {
    // Root fragments could hide any root field: not worth the analysis.
    if (sel.kind !== Kind.FIELD || !CACHEABLE_ROOT_FIELDS.has(sel.name.value)) return null;
  }
  const entities = new Set<EntityType>();
  const typeInfo = new TypeInfo(schema);
  let refused = false;
  // Only this operation and the fragments it may spread.
  const relevant: DocumentNode = {
    ...document,
    definitions: document.definitions.filter((d) => d === operation || d.kind === Kind.FRAGMENT_DEFINITION),
  };
  visit(
    relevant,
    visitWithTypeInfo(typeInfo, {
      Field(node) {
        if (PER_READ_FIELDS.has(node.name.value)) refused = true;
        const type = typeInfo.getType();
        if (!type) return;
        const named = getNamedType(type).name;
        if (named === 'Node') for (const e of ENTITY_TYPES) entities.add(e);
        for (const e of ENTITY_TYPES) if (named === e || named.startsWith(`${e}Connection`) || named.startsWith(`${e}Edge`)) entities.add(e);
      },
    }),
  );
  return refused ? null : entities;
}
