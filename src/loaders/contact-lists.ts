// Per-contact lists (Contact.invoices, Contact.orders) for a page of contacts. Without help that is
// one provider list call per contact; a connector that can read them for many contacts at once
// (loader.listForContacts: HubSpot reads one v4 association batch for up to 1000 contacts) gets
// every first page of one tick in one call, batched per connection, entity and `first`. Later
// pages (`after`) and connectors without it go through listAcross as before.
import DataLoader from 'dataloader';
import type { EntityModelMap } from '../../connectors/sdk/models.ts';
import type { EntityLoader, ListPage } from '../../connectors/sdk/types.ts';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { RequestContext } from '../context.ts';
import { toPublicError } from '../errors.ts';
import { lazyCursors, NO_CURSORS, type PageResult, type Served } from '../models.ts';
import { listViolation, slotsViolation } from './contract.ts';
import type { Position } from './list-order.ts';
import { listAcross, singleConnectionCursor } from './lists.ts';
import { logUpstreamFailure, type ConnectionHandle } from './request-loaders.ts';

type ChildEntity = 'Invoice' | 'Order';
type Page = ListPage<EntityModelMap[ChildEntity]>;

const perRequest = new WeakMap<RequestContext, Map<string, DataLoader<string, Page | ConnectorError>>>();

function batchLoader(rc: RequestContext, handle: ConnectionHandle, entity: ChildEntity, first: number): DataLoader<string, Page | ConnectorError> {
  let loaders = perRequest.get(rc);
  if (!loaders) perRequest.set(rc, (loaders = new Map()));
  const key = `${handle.config.id}\u0000${entity}\u0000${first}`;
  let loader = loaders.get(key);
  if (!loader) {
    const entityLoader = handle.connector.loaders[entity] as EntityLoader<EntityModelMap[ChildEntity]>;
    loader = new DataLoader<string, Page | ConnectorError>(
      async (contactIds) => {
        const operation = `${entity}.listForContacts`;
        try {
          const slots = await entityLoader.listForContacts!(contactIds, { first }, handle.ctx);
          const broken = slotsViolation(handle.connector, operation, contactIds, slots);
          if (broken) throw broken;
          return slots.map((slot) => (slot instanceof ConnectorError ? slot : (listViolation(handle.connector, entity, first, slot) ?? slot)));
        } catch (err) {
          logUpstreamFailure(handle, err, operation);
          const failure =
            err instanceof ConnectorError
              ? err
              : new ConnectorError('UPSTREAM_UNAVAILABLE', 'unexpected failure while reading from the provider', { cause: err });
          return contactIds.map(() => failure);
        }
      },
      { maxBatchSize: 1_000 },
    );
    loaders.set(key, loader);
  }
  return loader;
}

/** One page of a contact's invoices or orders in its own connection. */
export async function contactList<E extends ChildEntity>(
  rc: RequestContext,
  entity: E,
  connectionId: string,
  contactRemoteId: string,
  first: number,
  after: string | null | undefined,
  path: ReadonlyArray<string | number>,
): Promise<PageResult<Served<EntityModelMap[E]>>> {
  const handle = rc.connection(connectionId);
  const batched = handle?.connector.manifest.entities.includes(entity) && handle.connector.loaders[entity]?.listForContacts;
  if (!handle || !batched || after || first <= 0 || first > Math.min(rc.config.limits.maxPageSize, handle.connector.manifest.maxPageSize)) {
    return listAcross(rc, entity, { first, after, filter: { contactRemoteId }, orderBy: null, connections: handle ? [handle] : [], path });
  }
  const page = await batchLoader(rc, handle, entity, first).load(contactRemoteId);
  if (page instanceof ConnectorError) {
    rc.partialErrors.push(toPublicError(page, { provider: handle.connector.manifest.id, connectionId: handle.config.id, path }));
    return { nodes: [], cursorAt: NO_CURSORS, hasNextPage: false, hasPreviousPage: false, totalCount: null };
  }
  const nodes = rc.loaders.prime(handle, entity, page.nodes as Array<EntityModelMap[E]>) as Array<Served<EntityModelMap[E]>>;
  // The same cursors listAcross gives: inside the page, "n consumed of the first page"; at its end,
  // the connector's cursor (or "this connection is done").
  const position = (consumed: number): Position => {
    if (consumed < nodes.length) return { a: null, s: consumed, n: first };
    return page.hasNextPage && page.endCursor ? { a: page.endCursor, s: 0, n: first } : { a: null, s: 0, n: first, x: 1 };
  };
  const cursorAt = lazyCursors(nodes.length, (j) => singleConnectionCursor(entity, { contactRemoteId }, handle.config.id, position(j + 1)));
  return { nodes, cursorAt, hasNextPage: page.hasNextPage, hasPreviousPage: false, totalCount: page.totalCount ?? null };
}
