// Resolvers shared by every record type: id, source, connection wrappers, and loading by global id.
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import type { EntityModelMap, EntityType } from '../../connectors/sdk/models.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput } from '../errors.ts';
import { decodeId, encodeId } from '../ids.ts';
import type { PageResult, Served, ServedSource } from '../models.ts';
import type { ConnectionHandle } from '../loaders/request-loaders.ts';

export function globalId(entity: EntityType, model: Served<EntityModelMap[EntityType]>): string {
  return encodeId(entity, model.served.connectionId, model.source.remoteId);
}

export function sourceOf(model: Served<EntityModelMap[EntityType]>): ServedSource {
  return { ...model.source, ...model.served };
}

/** An edge of a *Connection: its cursor is encoded only if the query selects it. */
class Edge<M> {
  constructor(
    readonly node: M,
    private readonly page: PageResult<M>,
    private readonly index: number,
  ) {}

  get cursor(): string {
    return this.page.cursorAt(this.index);
  }
}

/** pageInfo of a *Connection: start/end cursors encoded only if selected. */
class PageInfo<M> {
  readonly hasNextPage: boolean;
  readonly hasPreviousPage: boolean;

  constructor(private readonly page: PageResult<M>) {
    this.hasNextPage = page.hasNextPage;
    this.hasPreviousPage = page.hasPreviousPage;
  }

  get startCursor(): string | null {
    return this.page.nodes.length ? this.page.cursorAt(0) : null;
  }

  get endCursor(): string | null {
    return this.page.nodes.length ? this.page.cursorAt(this.page.nodes.length - 1) : null;
  }
}

export function connectionFields<M>() {
  return {
    edges: (page: PageResult<M>) => page.nodes.map((node, i) => new Edge(node, page, i)),
    nodes: (page: PageResult<M>) => page.nodes,
    pageInfo: (page: PageResult<M>) => new PageInfo(page),
    totalCount: (page: PageResult<M>) => page.totalCount,
  };
}

/**
 * Loads a record by global id for the caller's tenant. A malformed id is BAD_USER_INPUT. An id of
 * a connection the caller cannot read and an id the provider does not know look the same
 * (UPSTREAM_NOT_FOUND), so ids reveal nothing about other tenants.
 */
export async function loadByGlobalId(rc: RequestContext, id: string, expected?: EntityType): Promise<Served<EntityModelMap[EntityType]>> {
  const decoded = decodeId(id);
  if (!decoded) throw badUserInput(`"${id.slice(0, 80)}" is not a Switchboard id`, 'id');
  if (expected && decoded.type !== expected) throw badUserInput(`id belongs to a ${decoded.type}, not a ${expected}`, 'id');
  const handle = rc.connection(decoded.connectionId);
  if (!handle || !handle.connector.manifest.entities.includes(decoded.type)) {
    throw new GraphQLError(`no ${decoded.type} with this id`, { extensions: { code: 'UPSTREAM_NOT_FOUND' } });
  }
  return rc.loaders.loader(handle, decoded.type).load(decoded.remoteId);
}

/** Loads a record linked by remote id in the same connection (invoice → contact, order → customer). */
export function loadLinked<E extends EntityType>(
  rc: RequestContext,
  connectionId: string,
  entity: E,
  remoteId: string | null,
): Served<EntityModelMap[E]> | null | Promise<Served<EntityModelMap[E]> | null> {
  if (!remoteId) return null;
  const handle = rc.connection(connectionId);
  if (!handle || !handle.connector.manifest.entities.includes(entity)) return null;
  // Read already (a list's lookahead, a warm page): the record itself, no promise for graphql-js to wait on.
  return rc.loaders.loadedRecord(handle, entity, remoteId) ?? loadLinkedLater(rc, handle, entity, remoteId);
}

async function loadLinkedLater<E extends EntityType>(
  rc: RequestContext,
  handle: ConnectionHandle,
  entity: E,
  remoteId: string,
): Promise<Served<EntityModelMap[E]> | null> {
  try {
    return await rc.loaders.loader(handle, entity).load(remoteId);
  } catch (err) {
    if ((err as { extensions?: { code?: string } }).extensions?.code === 'UPSTREAM_NOT_FOUND') return null;
    throw err;
  }
}

export function pathOf(info: GraphQLResolveInfo): Array<string | number> {
  const out: Array<string | number> = [];
  for (let p: GraphQLResolveInfo['path'] | undefined = info.path; p; p = p.prev) out.unshift(p.key);
  return out;
}
