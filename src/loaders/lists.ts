// Relay pagination across every connection of a tenant. Connections are walked in configuration
// order: a page is filled from the current connection, then continues into the next one when the
// current is exhausted. Each edge's cursor says where to resume (connection, the connector's own
// cursor, how many nodes of that provider page to skip), so any edge cursor round-trips.
// A connection that fails is skipped in that page and reported as a partial error.
import { createHash } from 'node:crypto';
import type { GraphQLError } from 'graphql';
import type { EntityModelMap, EntityType } from '../../connectors/sdk/models.ts';
import type { EntityLoader, ListFilter, ListPage } from '../../connectors/sdk/types.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput, toPublicError } from '../errors.ts';
import { listViolation } from './contract.ts';
import type { PageResult, Served } from '../models.ts';
import { logUpstreamFailure, type ConnectionHandle } from './request-loaders.ts';

interface Cursor {
  /** Connection id. */
  k: string;
  /** The connector's cursor of the provider page the edge was on (null: first page). */
  a: string | null;
  /** Nodes of that provider page already delivered. */
  s: number;
  /** The connection is exhausted: resume at the next one. */
  x?: 1;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c), 'utf8').toString('base64url');
}

function decodeCursor(text: string): Cursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Cursor;
    if (typeof c.k === 'string' && (c.a === null || typeof c.a === 'string') && Number.isInteger(c.s) && c.s >= 0) return c;
  } catch {
    // fall through
  }
  throw badUserInput('`after` is not a cursor returned by this field', 'after');
}

export interface ListRequest {
  first: number;
  after: string | null | undefined;
  filter: ListFilter & { provider?: string | null; connectionId?: string | null };
  /** Restrict to these connections (nested fields: the parent's connection). */
  connections?: ConnectionHandle[];
  path: ReadonlyArray<string | number>;
}

/** Upper bound on provider pages one GraphQL page may walk (defends against a connector that loops). */
const MAX_PROVIDER_PAGES = 50;

export async function listAcross<E extends EntityType>(rc: RequestContext, entity: E, req: ListRequest): Promise<PageResult<Served<EntityModelMap[E]>>> {
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

  let index = 0;
  let after: string | null = null;
  let skip = 0;
  if (req.after) {
    const cursor = decodeCursor(req.after);
    index = handles.findIndex((h) => h.config.id === cursor.k);
    if (index < 0) throw badUserInput('`after` belongs to another query or to a connection you cannot read', 'after');
    if (cursor.x) index += 1;
    else {
      after = cursor.a;
      skip = cursor.s;
    }
  }

  const nodes: Array<Served<EntityModelMap[E]>> = [];
  const cursors: string[] = [];
  let remaining = req.first;
  let hasNextPage = false;
  const totals: Array<number | null> = [];
  let providerPages = 0;

  for (; index < handles.length; index++) {
    const handle = handles[index] as ConnectionHandle;
    if (remaining === 0) {
      hasNextPage = true; // more connections follow (their pages may turn out empty)
      break;
    }
    let a = after;
    let s = skip;
    after = null;
    skip = 0;
    let stoppedInside = false;
    for (;;) {
      if (++providerPages > MAX_PROVIDER_PAGES) {
        stoppedInside = true;
        break;
      }
      let page: ListPage<Served<EntityModelMap[E]>>;
      try {
        page = await fetchPage(rc, handle, entity, { first: Math.min(handle.connector.manifest.maxPageSize, maxPageSize, remaining + s), after: a, filter });
      } catch (err) {
        logUpstreamFailure(handle, err, `${entity}.list`);
        rc.partialErrors.push(asUpstream(err, handle, req.path));
        break;
      }
      if (a === null && s === 0) totals.push(page.totalCount ?? null);
      const take = page.nodes.slice(s, s + remaining);
      take.forEach((node, j) => {
        nodes.push(node);
        const consumed = s + j + 1;
        const lastOfPage = consumed === page.nodes.length;
        cursors.push(
          encodeCursor(
            lastOfPage && !page.hasNextPage
              ? { k: handle.config.id, a: null, s: 0, x: 1 }
              : lastOfPage
                ? { k: handle.config.id, a: page.endCursor, s: 0 }
                : { k: handle.config.id, a, s: consumed },
          ),
        );
      });
      remaining -= take.length;
      const pageDone = s + take.length >= page.nodes.length;
      if (!pageDone) {
        stoppedInside = true;
        break;
      }
      if (!page.hasNextPage || page.endCursor === null) break;
      if (remaining === 0) {
        stoppedInside = true;
        break;
      }
      a = page.endCursor;
      s = 0;
    }
    if (stoppedInside) {
      hasNextPage = true;
      break;
    }
  }

  const visitedAll = totals.length === handles.length && !req.after;
  const totalCount = visitedAll && totals.every((t) => t !== null) ? (totals as number[]).reduce((x, y) => x + y, 0) : null;
  return { nodes, cursors, hasNextPage, hasPreviousPage: false, totalCount };
}

function asUpstream(err: unknown, handle: ConnectionHandle, path: ReadonlyArray<string | number>): GraphQLError {
  return toPublicError(err, { provider: handle.connector.manifest.id, connectionId: handle.config.id, path });
}

/** One provider page: from the page cache (ids → entity cache/loader) or from the connector. */
async function fetchPage<E extends EntityType>(
  rc: RequestContext,
  handle: ConnectionHandle,
  entity: E,
  args: { first: number; after: string | null; filter: ListFilter },
): Promise<ListPage<Served<EntityModelMap[E]>>> {
  const scope = { tenantId: rc.tenant.id, connectionId: handle.config.id };
  const fingerprint = createHash('sha256')
    .update(JSON.stringify([args.first, args.after, args.filter.email ?? null, args.filter.updatedSince ?? null, args.filter.contactRemoteId ?? null]))
    .digest('base64url');
  const loader = rc.loaders.loader(handle, entity);

  const { page: cached, generation } = await rc.services.cache.getPage(scope, entity, fingerprint);
  if (cached) {
    const loaded = await loader.loadMany(cached.remoteIds);
    // A record that vanished since the page was cached (deleted upstream) is dropped, not an error.
    const nodes = loaded.filter((n): n is Served<EntityModelMap[E]> => !(n instanceof Error));
    if (nodes.length === loaded.length || loaded.every((n) => !(n instanceof Error) || isNotFound(n))) {
      return { nodes, endCursor: cached.endCursor, hasNextPage: cached.hasNextPage, totalCount: cached.totalCount };
    }
    // Otherwise the provider is failing for these records; fall through to a fresh read.
  }

  const entityLoader = handle.connector.loaders[entity] as EntityLoader<EntityModelMap[E]>;
  const page = await entityLoader.list(args, handle.ctx);
  const broken = listViolation(handle.connector, entity, args.first, page);
  if (broken) throw broken;
  const fetchedAt = new Date().toISOString();
  const nodes = await rc.loaders.prime(handle, entity, page.nodes, fetchedAt);
  await rc.services.cache.setPage(
    scope,
    entity,
    fingerprint,
    {
      remoteIds: page.nodes.map((n) => n.source.remoteId),
      endCursor: page.endCursor,
      hasNextPage: page.hasNextPage,
      totalCount: page.totalCount ?? null,
      fetchedAt,
    },
    generation,
  );
  return {
    nodes,
    endCursor: page.endCursor,
    hasNextPage: page.hasNextPage,
    totalCount: page.totalCount ?? null,
  };
}

function isNotFound(err: unknown): boolean {
  return (err as GraphQLError).extensions?.code === 'UPSTREAM_NOT_FOUND';
}
