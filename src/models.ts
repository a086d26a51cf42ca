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
  /**
   * Cursor of the node at index i. Built when read (and then kept): a query that selects no
   * `cursor` and no `startCursor`/`endCursor` encodes none.
   */
  cursorAt(i: number): string;
  hasNextPage: boolean;
  hasPreviousPage: boolean;
  totalCount: number | null;
}

/** Cursors built on first read, each from what `build(i)` returns then; `count` of them. */
export function lazyCursors(count: number, build: (i: number) => string): (i: number) => string {
  const built: Array<string | undefined> = [];
  return (i) => {
    if (!Number.isInteger(i) || i < 0 || i >= count) throw new RangeError(`no cursor at ${i} (page of ${count})`);
    return (built[i] ??= build(i));
  };
}

/** cursorAt of a page without nodes. */
export const NO_CURSORS = lazyCursors(0, () => '');

/** Parent of *Edge types. */
export interface ServedEdge<M> {
  cursor: string;
  node: M;
}
