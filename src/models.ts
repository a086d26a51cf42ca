// What resolvers receive as parents: a connector's model plus where and when the gateway got it.
import type { ContactModel, EntityModelMap, EntityType, InvoiceModel, OrderModel, SourceModel } from '../connectors/sdk/models.ts';

export interface ServedMeta {
  tenantId: string;
  connectionId: string;
  /** ISO instant at which the record was read from the provider (kept through the cache). */
  fetchedAt: string;
  cacheStatus: 'HIT' | 'MISS';
}

export type Served<M> = M & { served: ServedMeta };
export type ServedContact = Served<ContactModel>;
export type ServedInvoice = Served<InvoiceModel>;
export type ServedOrder = Served<OrderModel>;
export type ServedEntity = { [E in EntityType]: Served<EntityModelMap[E]> }[EntityType];

/** Parent of ProviderRef fields. */
export type ServedSource = SourceModel & ServedMeta;

/** Parent of *Connection types. */
export interface PageResult<M> {
  nodes: M[];
  /** Cursor of each node, same order. */
  cursors: string[];
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number | null;
}

/** Parent of *Edge types. */
export interface ServedEdge<M> {
  cursor: string;
  node: M;
}
