// Relay pagination across every connection of a tenant, as ONE list: each connection is read in
// the requested order (natively where its manifest declares the order, else read whole and sorted
// here up to limits.listSortFallbackMax records) and the streams are merged k-way, so a page of N
// holds the N first records across every connection (ties: connection id, then the provider's own
// order). docs/lists.md is the contract.
//
// What it costs: a connection is asked for its next provider page only when the merge has used up
// the one it holds; provider pages are kept in the list-page cache (keyed by connector cursor, page
// size, order and filter), so records fetched but not returned are served from it on the next page
// rather than fetched again. The composite cursor carries every connection's position (connector
// cursor, records consumed of that page, the page size it was read with) and the last returned
// sort key, which guards against repeats when an offset-paginated provider shifts under a walk.
//
// A connection that fails is left out of that page (partial error naming it); its position stays
// where it was, so a later page resumes it and merges its records in when it answers again.
import { createHash } from 'node:crypto';
import { GraphQLError } from 'graphql';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { EntityModelMap, EntityType } from '../../connectors/sdk/models.ts';
import type { EntityLoader, ListFilter, ListOrder, ListPage } from '../../connectors/sdk/types.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput, toPublicError } from '../errors.ts';
import { listViolation } from './contract.ts';
import type { LinkedRecord } from './lookahead.ts';
import {
  advanceLast,
  alreadyReturned,
  compareKeys,
  decodeMergeCursor,
  encodeMergeCursor,
  keysetOrder,
  MAX_TIE_IDS,
  neverHasKey,
  nativeOrders,
  orderName,
  queryFingerprint,
  sortKey,
  type LastReturned,
  type MergeCursor,
  type Position,
} from './list-order.ts';
import { lazyCursors, type PageResult, type Served } from '../models.ts';
import { logUpstreamFailure, type ConnectionHandle } from './request-loaders.ts';

export interface ListRequest {
  first: number;
  after: string | null | undefined;
  filter: ListFilter & { provider?: string | null; connectionId?: string | null };
  /** The order to merge in; null: the one connection's own order (per-contact lists, one connection only). */
  orderBy: ListOrder | null;
  /** Restrict to these connections (nested fields: the parent's connection). */
  connections?: ConnectionHandle[];
  path: ReadonlyArray<string | number>;
  /** Linked records the query reads on every node (lookahead.ts): read as soon as the page is known. */
  links?: ReadonlyArray<LinkedRecord>;
}

/** Upper bound on provider pages one GraphQL page may read (defends against a connector that loops). */
const MAX_PROVIDER_PAGES = 100;

type Node<E extends EntityType> = Served<EntityModelMap[E]>;

/** Shared by the streams of one GraphQL page. */
interface Walk {
  rc: RequestContext;
  entity: EntityType;
  order: ListOrder | null;
  filter: ListFilter;
  /** The last record returned so far (from the cursor, then this page). */
  last: LastReturned | undefined;
  providerPages: number;
}

/** One connection's records in the walk's order, read lazily. */
class ConnectionStream<E extends EntityType> {
  private page: (ListPage<Node<E>> & { a: string | null; n: number; k: number | undefined }) | null = null;
  private sorted: Array<Node<E>> | null = null;
  private index = 0;
  private exhausted: boolean;
  private lagging: boolean;
  private total: number | null;
  /** Sort key of the last record taken from this connection in this request (undefined: none yet). */
  private lastKey: number | null | undefined = undefined;
  failed = false;

  constructor(
    private readonly walk: Walk,
    readonly handle: ConnectionHandle,
    private position: Position,
    /** The connection serves the walk's order itself (else: sorted here). */
    private readonly native: boolean,
    /** Page size for provider pages this stream starts. */
    private readonly pageSize: number,
    /** Its records never carry the order's key (neverHasKey): read in the provider's own order, not asked to sort. */
    private readonly ownOrder = false,
    /** Its list can start at a sort key (manifest keyset): next provider pages start at the last key returned, not at an offset. */
    private readonly keyset = false,
    /** Largest provider page it may ask for (the over-read of a keyset page). */
    private readonly maxPage = pageSize,
  ) {
    this.exhausted = position.x === 1;
    this.lagging = position.e === 1;
    this.total = position.t ?? null;
  }

  get id(): string {
    return this.handle.config.id;
  }

  keyOf(node: Node<E>): number | null {
    return this.walk.order ? sortKey(node.source, this.walk.order) : null;
  }

  /**
   * The next record, reading a provider page when the current one is used up; null when none is
   * left. With `read` false it never calls the provider: undefined when the next record is not in
   * hand (the held page is used up and the provider said more follow).
   */
  async head(read = true): Promise<Node<E> | null | undefined> {
    if (this.exhausted) return null;
    const node = this.native ? await this.nativeHead(read) : await this.sortedHead();
    if (node === undefined) return undefined;
    if (node === null) this.exhausted = true;
    // A connection that failed earlier rejoins the keyset guard once it reaches the walk's position.
    if (this.lagging && this.walk.order && (node === null || compareKeys(this.keyOf(node), this.walk.last?.k ?? null, this.walk.order.direction) >= 0))
      this.lagging = false;
    return node;
  }

  /**
   * Whether more follow the used-up held page, without reading it: a full page that says more
   * follow is taken at its word; a short one that says so (a provider filtering or scanning on its
   * side) might be followed by nothing, so that one is read to keep hasNextPage exact.
   */
  async more(): Promise<boolean> {
    const page = this.page;
    if (page && page.hasNextPage && page.endCursor !== null && page.nodes.length >= page.n) return true;
    return (await this.head()) !== null;
  }

  private skip(node: Node<E>): boolean {
    const { order, last } = this.walk;
    return order !== null && !this.lagging && alreadyReturned(this.keyOf(node), this.id, node.source.remoteId, last, order.direction);
  }

  private async nativeHead(read: boolean): Promise<Node<E> | null | undefined> {
    for (;;) {
      if (!this.page) {
        if (!read) return undefined;
        const { a, n } = this.position;
        if (++this.walk.providerPages > MAX_PROVIDER_PAGES)
          throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `read more than ${MAX_PROVIDER_PAGES} provider pages for one page of results`, {
            retryable: false,
          });
        const k = this.position.k;
        const page = await fetchPage(this.walk.rc, this.handle, this.walk.entity as E, {
          first: n,
          after: a,
          filter: this.walk.filter,
          ...(this.walk.order && !this.ownOrder ? { orderBy: this.walk.order } : {}),
          ...(k !== undefined && this.walk.order && !this.ownOrder ? { keyset: { from: new Date(k).toISOString() } } : {}),
        });
        this.page = { ...page, a, n, k };
        // A page read again from the provider (not the one cached when the cursor was made) may
        // have shifted since: the keyset guard, not the count of records consumed, says where to resume.
        this.index = !page.cached && this.position.s > 0 && this.guardHolds() ? 0 : this.position.s;
        // A keyset query counts from its key on: only the unbounded query's count is the connection's.
        if (page.totalCount !== null && page.totalCount !== undefined && k === undefined) this.total = page.totalCount;
      }
      const nodes = this.page.nodes;
      while (this.index < nodes.length) {
        const node = nodes[this.index] as Node<E>;
        if (!this.skip(node)) return node;
        this.index++;
      }
      if (!this.page.hasNextPage || this.page.endCursor === null) return null;
      if (!read) return undefined;
      this.position = this.nextPosition(this.page);
      this.page = null;
    }
  }

  /**
   * Whether the walk's keyset guard alone tells which records were returned: an order, a
   * connection that has caught up, and every record returned at the last key still remembered.
   */
  private guardHolds(): boolean {
    const { order, last } = this.walk;
    return order !== null && !this.lagging && last !== undefined && last.r.length < MAX_TIE_IDS;
  }

  /**
   * Where the provider page after `page` starts. Keyset (the connection serves it for this order):
   * a new query from the last key returned, over-reading by the records already returned at that
   * key (the guard skips them), so records that changed or vanished behind the walk shift nothing.
   * Else, or when that query would be this same one again (a run of ties longer than a page), or
   * the key is not this connection's, the provider's own cursor.
   */
  private nextPosition(page: { endCursor: string | null; k: number | undefined }): Position {
    const last = this.walk.last;
    if (this.keyset && this.guardHolds() && last && last.k !== null && last.k === this.lastKey && page.k !== last.k) {
      const n = this.pageSize + last.r.filter(([c]) => c === this.id).length;
      if (n <= this.maxPage) return { a: null, s: 0, n, k: last.k };
    }
    return { a: page.endCursor, s: 0, n: this.pageSize, ...(page.k !== undefined ? { k: page.k } : {}) };
  }

  /** The whole connection read in its own order and sorted here, when there are at most listSortFallbackMax records. */
  private async sortedHead(): Promise<Node<E> | null> {
    if (!this.sorted) {
      this.sorted = await this.readAllSorted();
      this.total = this.sorted.length;
      // Sorted afresh on every request: records that changed since may have moved, so the guard says where to resume.
      this.index = this.guardHolds() ? 0 : this.position.s;
    }
    while (this.index < this.sorted.length) {
      const node = this.sorted[this.index] as Node<E>;
      if (!this.skip(node)) return node;
      this.index++;
    }
    return null;
  }

  private async readAllSorted(): Promise<Array<Node<E>>> {
    const { rc, entity, filter } = this.walk;
    const order = this.walk.order as ListOrder;
    const bound = rc.config.limits.listSortFallbackMax;
    const size = Math.max(1, Math.min(this.handle.connector.manifest.maxPageSize, rc.config.limits.maxPageSize));
    const seen = new Map<string, Node<E>>();
    let after: string | null = null;
    for (;;) {
      if (++this.walk.providerPages > MAX_PROVIDER_PAGES) throw orderNotSupported(this.handle, entity, order, filter, bound);
      const page: ListPage<Node<E>> = await fetchPage(rc, this.handle, entity as E, { first: size, after, filter });
      // The newest snapshot wins when a provider lists a record twice (Stripe's event feed).
      for (const node of page.nodes) if (!seen.has(node.source.remoteId)) seen.set(node.source.remoteId, node);
      if (seen.size > bound) throw orderNotSupported(this.handle, entity, order, filter, bound);
      if (!page.hasNextPage || page.endCursor === null) break;
      after = page.endCursor;
    }
    const remoteOrder = (a: string, b: string) => (a.length - b.length || (a < b ? -1 : a > b ? 1 : 0)) * (order.direction === 'ASC' ? 1 : -1);
    return [...seen.values()].sort(
      (x, y) => compareKeys(sortKey(x.source, order), sortKey(y.source, order), order.direction) || remoteOrder(x.source.remoteId, y.source.remoteId),
    );
  }

  /** Consumes the head returned by head() (its sort key `key`). */
  take(key: number | null): void {
    this.index++;
    this.lastKey = key;
  }

  /** Where this connection stands now, for a cursor. */
  snapshot(): Position {
    const t = this.total !== null ? { t: this.total } : {};
    const e = this.lagging || this.failed ? { e: 1 as const } : {};
    if (this.exhausted) return { a: null, s: 0, n: this.pageSize, x: 1, ...t };
    if (!this.native && this.sorted) return { a: null, s: this.index, n: this.pageSize, f: 1, ...t, ...e };
    if (this.page) {
      // At the end of a provider page, point at the next one (it may already sit in the page cache).
      if (this.index >= this.page.nodes.length && this.page.hasNextPage && this.page.endCursor !== null) return { ...this.nextPosition(this.page), ...t, ...e };
      return { a: this.page.a, s: this.index, n: this.page.n, ...(this.page.k !== undefined ? { k: this.page.k } : {}), ...t, ...e };
    }
    return { ...this.position, ...t, ...e };
  }

  get totalCount(): number | null {
    return this.failed ? null : this.total;
  }
}

function orderNotSupported(handle: ConnectionHandle, entity: EntityType, order: ListOrder, filter: ListFilter, bound: number): GraphQLError {
  const supported = nativeOrders(handle.connector.manifest.listOrders?.[entity], Boolean(filter.updatedSince));
  const name = orderName(order);
  return new GraphQLError(
    `connection "${handle.config.id}" (${handle.connector.manifest.displayName}) cannot list ${entity} records by ${name}: it serves ${
      supported.length ? supported.join(', ') : 'no order'
    } natively${filter.updatedSince ? ' with updatedSince' : ''}, and holds more than ${bound} records for the gateway to sort. Choose one of its orders, or narrow the list (filter.connectionId, filter.provider, filter.updatedSince).`,
    {
      extensions: {
        code: 'ORDER_NOT_SUPPORTED',
        connectionId: handle.config.id,
        provider: handle.connector.manifest.id,
        orderBy: name,
        supportedOrders: supported,
        sortLimit: bound,
      },
    },
  );
}

export async function listAcross<E extends EntityType>(rc: RequestContext, entity: E, req: ListRequest): Promise<PageResult<Node<E>>> {
  const { maxPageSize } = rc.config.limits;
  if (!Number.isInteger(req.first) || req.first < 0 || req.first > maxPageSize) {
    throw badUserInput(`\`first\` must be between 0 and ${maxPageSize} (got ${req.first})`, 'first');
  }
  const { provider, connectionId, ...filter } = req.filter;
  if (provider && !rc.services.connectors.has(provider)) {
    throw badUserInput(`unknown provider "${provider}"; known: ${[...rc.services.connectors.keys()].join(', ')}`, 'filter');
  }
  const handles = (req.connections ?? rc.connections()).filter(
    (h) =>
      h.connector.manifest.entities.includes(entity) && (!provider || h.connector.manifest.id === provider) && (!connectionId || h.config.id === connectionId),
  );
  const order = req.orderBy;
  if (order === null && handles.length > 1) throw new Error('listAcross: a list over several connections needs an order to merge by');

  const fingerprint = queryFingerprint(entity, order, { ...filter, provider: provider ?? null, connectionId: connectionId ?? null });
  const cursor = req.after ? decodeMergeCursor(req.after, fingerprint) : null;
  if (cursor) {
    const known = new Set(handles.map((h) => h.config.id));
    if (Object.keys(cursor.p).some((id) => !known.has(id))) throw badUserInput('`after` belongs to another query or to a connection you cannot read', 'after');
  }

  const walk: Walk = { rc, entity, order, filter, last: cursor?.l, providerPages: 0 };
  const streams = handles.map((handle) => {
    const pageSize = Math.max(1, Math.min(req.first, handle.connector.manifest.maxPageSize, maxPageSize));
    const served = order === null || nativeOrders(handle.connector.manifest.listOrders?.[entity], Boolean(filter.updatedSince)).includes(orderName(order));
    const ownOrder = !served && neverHasKey(handle.connector, entity, order);
    const keyset = served && order !== null && keysetOrder(handle.connector.manifest.listOrders?.[entity], order);
    const maxPage = Math.max(pageSize, Math.min(handle.connector.manifest.maxPageSize, maxPageSize));
    const position = cursor?.p[handle.config.id] ?? { a: null, s: 0, n: pageSize };
    return new ConnectionStream<E>(walk, handle, position, served || ownOrder, pageSize, ownOrder, keyset, maxPage);
  });

  const guarded = async <T>(stream: ConnectionStream<E>, read: () => Promise<T>, failed: T): Promise<T> => {
    if (stream.failed) return failed;
    try {
      return await read();
    } catch (err) {
      if (err instanceof GraphQLError) throw err; // ORDER_NOT_SUPPORTED fails the field
      logUpstreamFailure(stream.handle, err, `${entity}.list`);
      rc.partialErrors.push(toPublicError(err, { provider: stream.handle.connector.manifest.id, connectionId: stream.id, path: req.path }));
      stream.failed = true;
      return failed;
    }
  };
  const headOf = (stream: ConnectionStream<E>, read = true) => guarded(stream, () => stream.head(read), null);

  // Every connection's first candidate, read in parallel; afterwards only the one the merge took from reads again.
  // (cast: Served<EntityModelMap[E]> does not survive Awaited<> in TypeScript)
  const heads: Array<Node<E> | null | undefined> = await Promise.all(streams.map((s) => headOf(s) as Promise<never>));
  const nodes: Array<Node<E>> = [];
  // Where every connection stood after each record; encoded into a cursor only if one is read.
  const states: Array<Pick<MergeCursor, 'p' | 'l'>> = [];
  const snapshotOf = (): Record<string, Position> => Object.fromEntries(streams.map((s) => [s.id, s.snapshot()]));
  while (nodes.length < req.first) {
    let best = -1;
    for (let i = 0; i < streams.length; i++) {
      if (
        heads[i] &&
        (best < 0 || before(streams[i] as ConnectionStream<E>, heads[i] as Node<E>, streams[best] as ConnectionStream<E>, heads[best] as Node<E>, order))
      )
        best = i;
    }
    if (best < 0) break;
    const stream = streams[best] as ConnectionStream<E>;
    const node = heads[best] as Node<E>;
    stream.take(stream.keyOf(node));
    nodes.push(node);
    if (order) walk.last = advanceLast(walk.last, stream.keyOf(node), stream.id, node.source.remoteId);
    // The page is full: take the next record only if it is in hand (no provider call for it).
    heads[best] = (await headOf(stream, nodes.length < req.first)) as Node<E> | null | undefined;
    states.push({ p: snapshotOf(), l: walk.last });
  }

  // Exact: a connection has a next record in hand, or its provider says more follow a full page
  // (a short page's claim is checked), or it failed and its position lets a later page resume it.
  let hasNextPage = heads.some((h) => h !== null && h !== undefined) || streams.some((s) => s.failed && !s.snapshot().x);
  for (let i = 0; !hasNextPage && i < streams.length; i++) {
    if (heads[i] === undefined) hasNextPage = await guarded(streams[i] as ConnectionStream<E>, () => (streams[i] as ConnectionStream<E>).more(), false);
  }
  if (!hasNextPage) hasNextPage = streams.some((s) => s.failed && !s.snapshot().x);
  if (req.links?.length && prefetchLinks(rc, streams, nodes, req.links)) {
    // The batch reads just sent leave (past the cache read and the rate budget: with Redis, round
    // trips) before graphql-js gets the page; otherwise it completes the page's fields (~1 ms for
    // 100 records) before their answers are read, and the linked records' call leaves after that.
    await rc.departures.left();
  }
  const totals = streams.map((s) => s.totalCount);
  const totalCount = totals.every((t) => t !== null) ? (totals as number[]).reduce((x, y) => x + y, 0) : null;
  const cursorAt = lazyCursors(nodes.length, (i) => {
    const { p, l } = states[i] as Pick<MergeCursor, 'p' | 'l'>;
    return encodeMergeCursor({ v: 2, q: fingerprint, p, ...(l ? { l } : {}) });
  });
  return { nodes, cursorAt, hasNextPage, hasPreviousPage: false, totalCount };
}

/**
 * Starts the batch reads of the page's linked records, per connection (only the records on the
 * page: nothing the query will not show). Whether any batch was sent.
 */
function prefetchLinks<E extends EntityType>(
  rc: RequestContext,
  streams: Array<ConnectionStream<E>>,
  nodes: Array<Node<E>>,
  links: ReadonlyArray<LinkedRecord>,
): boolean {
  let started = false;
  for (const stream of streams) {
    const { handle } = stream;
    for (const link of links) {
      if (!handle.connector.manifest.entities.includes(link.entity)) continue;
      const ids = new Set<string>();
      for (const node of nodes) {
        const ref = node.served.connectionId === handle.config.id ? (node as unknown as Record<string, unknown>)[link.ref] : null;
        if (typeof ref === 'string' && ref !== '') ids.add(ref);
      }
      if (rc.loaders.prefetch(handle, link.entity, [...ids])) started = true;
    }
  }
  return started;
}

/** Merge order: the sort key, then the connection id (the provider's own order within a connection). */
function before<E extends EntityType>(sa: ConnectionStream<E>, a: Node<E>, sb: ConnectionStream<E>, b: Node<E>, order: ListOrder | null): boolean {
  if (!order) return false;
  const c = compareKeys(sa.keyOf(a), sb.keyOf(b), order.direction);
  return c !== 0 ? c < 0 : sa.id < sb.id;
}

/** The cursor of a record in a single-connection list (per-contact lists answered by listForContacts). */
export function singleConnectionCursor(entity: EntityType, filter: ListFilter, connectionId: string, position: Position): string {
  return encodeMergeCursor({ v: 2, q: queryFingerprint(entity, null, { ...filter, provider: null, connectionId: null }), p: { [connectionId]: position } });
}

/** One provider page: from the page cache (ids → entity cache/loader) or from the connector. */
async function fetchPage<E extends EntityType>(
  rc: RequestContext,
  handle: ConnectionHandle,
  entity: E,
  args: { first: number; after: string | null; filter: ListFilter; orderBy?: ListOrder; keyset?: { from: string } },
): Promise<ListPage<Served<EntityModelMap[E]>> & { cached: boolean }> {
  const scope = { tenantId: rc.tenant.id, connectionId: handle.config.id };
  const fingerprint = createHash('sha256')
    .update(
      JSON.stringify([
        args.first,
        args.after,
        args.filter.email ?? null,
        args.filter.updatedSince ?? null,
        args.filter.contactRemoteId ?? null,
        args.orderBy ? orderName(args.orderBy) : null,
        args.keyset?.from ?? null,
      ]),
    )
    .digest('base64url');
  const loader = rc.loaders.loader(handle, entity);

  const { page: cached, generation } = await rc.services.cache.getPage(scope, entity, fingerprint);
  if (cached) {
    const loaded = await loader.loadMany(cached.remoteIds);
    // A record that vanished since the page was cached (deleted upstream) is dropped, not an error.
    const nodes = loaded.filter((n): n is Served<EntityModelMap[E]> => !(n instanceof Error));
    if (nodes.length === loaded.length || loaded.every((n) => !(n instanceof Error) || isNotFound(n))) {
      return { nodes, endCursor: cached.endCursor, hasNextPage: cached.hasNextPage, totalCount: cached.totalCount, cached: true };
    }
    // Otherwise the provider is failing for these records; fall through to a fresh read.
  }

  const entityLoader = handle.connector.loaders[entity] as EntityLoader<EntityModelMap[E]>;
  const page = await entityLoader.list(args, handle.ctx);
  const broken = listViolation(handle.connector, entity, args.first, page);
  if (broken) throw broken;
  const fetchedAt = new Date().toISOString();
  const nodes = rc.loaders.prime(handle, entity, page.nodes, fetchedAt);
  const cachedPage = {
    remoteIds: page.nodes.map((n) => n.source.remoteId),
    endCursor: page.endCursor,
    hasNextPage: page.hasNextPage,
    totalCount: page.totalCount ?? null,
    fetchedAt,
  };
  // Issued after the records' own write (prime's): a reader that finds the page finds its records too.
  rc.loaders.writeBehind(() => rc.services.cache.setPage(scope, entity, fingerprint, cachedPage, generation));
  return {
    nodes,
    endCursor: page.endCursor,
    hasNextPage: page.hasNextPage,
    totalCount: page.totalCount ?? null,
    cached: false,
  };
}

function isNotFound(err: unknown): boolean {
  return (err as GraphQLError).extensions?.code === 'UPSTREAM_NOT_FOUND';
}
