// Resolvers stay thin: arguments in, loaders and list service out. No provider knowledge here.
import { GraphQLError, type GraphQLResolveInfo } from 'graphql';
import { DateResolver, DateTimeResolver, EmailAddressResolver, CurrencyResolver, JSONResolver } from 'graphql-scalars';
import type { EntityType } from '../../connectors/sdk/models.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput } from '../errors.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { contactList } from '../loaders/contact-lists.ts';
import { listAcross, type ListRequest } from '../loaders/lists.ts';
import { listOrderArg } from '../loaders/list-order.ts';
import { selectedLinks } from '../loaders/lookahead.ts';
import type { ServedContact, ServedInvoice, ServedOrder } from '../models.ts';
import { connectionFields, globalId, loadByGlobalId, loadLinked, pathOf, sourceOf } from './common.ts';

/** `raw` is opt-in: cached records keep it apart, so it is loaded only when selected. */
function rawOf(entity: EntityType) {
  return (m: ServedContact | ServedInvoice | ServedOrder, _: unknown, rc: RequestContext) => {
    if (m.raw !== undefined) return m.raw;
    const handle = rc.connection(m.served.connectionId);
    return handle ? rc.loaders.raw(handle, entity, m.source.remoteId) : null;
  };
}

/**
 * Line items come with the model, or, where the connector deferred them (null) because they cost
 * calls of their own, from its lineItems loader: only queries that select them pay for them.
 */
function lineItemsOf(entity: 'Invoice' | 'Order') {
  return (m: ServedInvoice | ServedOrder, _: unknown, rc: RequestContext) => {
    if (m.lineItems !== null) return m.lineItems;
    const handle = rc.connection(m.served.connectionId);
    if (!handle) throw new GraphQLError(`the connection of this ${entity} is no longer available`, { extensions: { code: 'UPSTREAM_NOT_FOUND' } });
    return rc.loaders.lineItems(handle, entity, m);
  };
}

function nestedList<E extends 'Invoice' | 'Order'>(
  rc: RequestContext,
  entity: E,
  connectionId: string,
  contactRemoteId: string,
  first: number,
  after: string | null | undefined,
  info: GraphQLResolveInfo,
) {
  // Batched across the contacts of a page where the connector can (listForContacts).
  return contactList(rc, entity, connectionId, contactRemoteId, first, after, pathOf(info));
}

/** A root list (`contacts`, `invoices`, `orders`): one ordered page across every connection. */
function rootList<E extends EntityType>(
  rc: RequestContext,
  entity: E,
  args: {
    first?: number | null;
    after?: string | null;
    filter?: ListRequest['filter'] | null;
    orderBy?: Parameters<typeof listOrderArg>[0];
  },
  info: GraphQLResolveInfo,
) {
  return listAcross(rc, entity, {
    first: args.first ?? rc.config.limits.defaultPageSize,
    after: args.after,
    filter: { ...args.filter },
    orderBy: listOrderArg(args.orderBy),
    path: pathOf(info),
    links: selectedLinks(info, entity),
  });
}

export const resolvers: Resolvers = {
  DateTime: DateTimeResolver,
  Date: DateResolver,
  EmailAddress: EmailAddressResolver,
  Currency: CurrencyResolver,
  JSON: JSONResolver,

  Query: {
    node: (_, { id }, rc) => loadByGlobalId(rc, id),
    nodes: (_, { ids }, rc) => {
      if (ids.length > rc.config.limits.maxNodesIds)
        throw badUserInput(`\`ids\` accepts at most ${rc.config.limits.maxNodesIds} ids (got ${ids.length})`, 'ids');
      // A failing id becomes an error at its own index (graphql-js turns a returned Error into a
      // field error) while the others still resolve.
      return Promise.all(ids.map((id) => loadByGlobalId(rc, id).catch((err: unknown) => err as Error))) as Promise<Array<ServedContact | null>>;
    },
    contact: (_, { id }, rc) => loadByGlobalId(rc, id, 'Contact') as Promise<ServedContact | null>,
    invoice: (_, { id }, rc) => loadByGlobalId(rc, id, 'Invoice') as Promise<ServedInvoice | null>,
    order: (_, { id }, rc) => loadByGlobalId(rc, id, 'Order') as Promise<ServedOrder | null>,
    contacts: (_, args, rc, info) => rootList(rc, 'Contact', args, info),
    invoices: (_, args, rc, info) => rootList(rc, 'Invoice', args, info),
    orders: (_, args, rc, info) => rootList(rc, 'Order', args, info),
  },

  Node: {
    __resolveType: (node) => node.entity,
  },

  Contact: {
    id: (c) => globalId('Contact', c),
    source: (c) => sourceOf(c),
    invoices: (c, { first, after }, rc, info) =>
      nestedList(rc, 'Invoice', c.served.connectionId, c.source.remoteId, first ?? rc.config.limits.defaultPageSize, after, info),
    orders: (c, { first, after }, rc, info) =>
      nestedList(rc, 'Order', c.served.connectionId, c.source.remoteId, first ?? rc.config.limits.defaultPageSize, after, info),
    raw: rawOf('Contact'),
  },
  Invoice: {
    id: (i) => globalId('Invoice', i),
    source: (i) => sourceOf(i),
    contact: (i, _, rc) => loadLinked(rc, i.served.connectionId, 'Contact', i.contactRemoteId),
    order: (i, _, rc) => loadLinked(rc, i.served.connectionId, 'Order', i.orderRemoteId),
    lineItems: lineItemsOf('Invoice'),
    raw: rawOf('Invoice'),
  },
  Order: {
    id: (o) => globalId('Order', o),
    source: (o) => sourceOf(o),
    customer: (o, _, rc) => loadLinked(rc, o.served.connectionId, 'Contact', o.customerRemoteId),
    lineItems: lineItemsOf('Order'),
    raw: rawOf('Order'),
  },
  ProviderRef: {
    connectionId: (s) => s.connectionId,
  },
  ContactConnection: connectionFields<ServedContact>(),
  InvoiceConnection: connectionFields<ServedInvoice>(),
  OrderConnection: connectionFields<ServedOrder>(),
};
