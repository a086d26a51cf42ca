// The pure half of unified lists (src/loaders/lists.ts): the order records are merged in, the
// composite cursor that says where every connection stands, and the keyset guard that keeps a
// walk from returning a record twice when an offset-paginated provider shifts under it.
import { createHash } from 'node:crypto';
import type { Connector, ListOrder, ListOrderName, ListOrders } from '../../connectors/sdk/types.ts';
import type { EntityType, SourceModel } from '../../connectors/sdk/models.ts';
import { badUserInput } from '../errors.ts';

/** `orderBy` when the client gives none: newest created first (what every Stripe list serves). */
export const DEFAULT_LIST_ORDER: ListOrder = { field: 'CREATED_AT', direction: 'DESC' };

/** Ids of records returned at the last sort key that a cursor remembers (ties beyond it rely on positions alone). */
export const MAX_TIE_IDS = 50;

/** The `orderBy` argument as given (direction defaults to DESC in the SDL; absent: DEFAULT_LIST_ORDER). */
export function listOrderArg(arg: { field: ListOrder['field']; direction?: ListOrder['direction'] | null } | null | undefined): ListOrder {
  if (!arg) return DEFAULT_LIST_ORDER;
  return { field: arg.field, direction: arg.direction ?? 'DESC' };
}

export const orderName = (order: ListOrder): ListOrderName => `${order.field}_${order.direction}`;

/**
 * The connector declares (coverage) that it never fills the order's timestamp for this entity
 * (Xero has no creation time): every record of the connection sorts last, as a record without the
 * key does, and among themselves in the provider's own order (the tie-break). So its own order IS
 * this order, and nothing needs reading whole: the default order works on a Xero organisation of
 * any size.
 */
export function neverHasKey(connector: Pick<Connector, 'coverage'>, entity: EntityType, order: ListOrder): boolean {
  const declared = connector.coverage[entity] as Record<string, { fill: string }> | undefined;
  return declared?.[order.field === 'CREATED_AT' ? 'createdAt' : 'updatedAt']?.fill === 'NEVER';
}

/**
 * Whether the gateway sorts this connection's records itself for `order` (reading it whole, up to
 * limits.listSortFallbackMax records): the connector does not serve the order for this filter and
 * its records do carry the order's timestamp.
 */
export function sortedByGateway(connector: Pick<Connector, 'coverage' | 'manifest'>, entity: EntityType, order: ListOrder, updatedSince: boolean): boolean {
  if (nativeOrders(connector.manifest.listOrders?.[entity], updatedSince).includes(orderName(order))) return false;
  return !neverHasKey(connector, entity, order);
}

/** Whether a connector's list can start at a sort key for this order (manifest.listOrders[entity].keyset). */
export function keysetOrder(declared: ListOrders | undefined, order: ListOrder | null): boolean {
  return Boolean(order && declared?.keyset?.includes(orderName(order)));
}

/** The orders a connector's list serves natively for this filter (manifest.listOrders). */
export function nativeOrders(declared: ListOrders | undefined, updatedSince: boolean): readonly ListOrderName[] {
  if (!declared) return [];
  return updatedSince ? (declared.withUpdatedSince ?? declared.orders) : declared.orders;
}

/** The instant a record sorts by, in ms; null when the provider gave none (or an unreadable one). */
export function sortKey(source: Pick<SourceModel, 'remoteCreatedAt' | 'remoteUpdatedAt'>, order: ListOrder): number | null {
  const text = order.field === 'CREATED_AT' ? source.remoteCreatedAt : source.remoteUpdatedAt;
  if (!text) return null;
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? null : ms;
}

/** Negative when `a` comes first in the order. A record without the timestamp comes after every one that has it, either way. */
export function compareKeys(a: number | null, b: number | null, direction: ListOrder['direction']): number {
  if (a === b) return 0;
  if (a === null) return 1;
  if (b === null) return -1;
  return direction === 'ASC' ? a - b : b - a;
}

/** Where one connection stands in a walk. */
export interface Position {
  /** The connector's cursor of the provider page the next record is on (null: its first page). */
  a: string | null;
  /** Records of that page already consumed. */
  s: number;
  /** The page size that page was read with: the same size finds it again in the page cache. */
  n: number;
  /** Exhausted: nothing more from this connection. */
  x?: 1;
  /** Sorted by the gateway (the connection cannot serve the order): `s` is the offset in its sorted records. */
  f?: 1;
  /** Failed on an earlier page: its records are merged in when it answers again, exempt from the keyset guard until it has caught up. */
  e?: 1;
  /** The total the connection last reported, when it reports one. */
  t?: number;
  /**
   * Keyset bound (ms) of the provider query `a` belongs to: the query asked for records from this
   * sort key on (ListArgs.keyset). Absent: the plain query from the connection's first record.
   */
  k?: number;
}

/** The last record a page returned: its sort key and the (connection, remote id) pairs returned at exactly that key. */
export interface LastReturned {
  k: number | null;
  r: Array<[string, string]>;
}

export interface MergeCursor {
  v: 2;
  /** Fingerprint of the query the cursor was made for (entity, order, filter): another query's cursor is refused. */
  q: string;
  /** Position per connection id; a connection without one starts at its beginning. */
  p: Record<string, Position>;
  l?: LastReturned;
}

export function queryFingerprint(entity: string, order: ListOrder | null, filter: Record<string, unknown>): string {
  const keys = Object.keys(filter)
    .filter((k) => filter[k] !== null && filter[k] !== undefined)
    .sort();
  return createHash('sha256')
    .update(JSON.stringify([entity, order ? orderName(order) : null, keys.map((k) => [k, filter[k]])]))
    .digest('base64url')
    .slice(0, 12);
}

export function encodeMergeCursor(cursor: MergeCursor): string {
  return Buffer.from(JSON.stringify(cursor), 'utf8').toString('base64url');
}

const isPosition = (p: unknown): p is Position => {
  const o = p as Position;
  return (
    typeof o === 'object' &&
    o !== null &&
    (o.a === null || typeof o.a === 'string') &&
    Number.isInteger(o.s) &&
    o.s >= 0 &&
    Number.isInteger(o.n) &&
    o.n >= 1 &&
    (o.t === undefined || (Number.isInteger(o.t) && o.t >= 0)) &&
    (o.k === undefined || Number.isFinite(o.k))
  );
};

const isLast = (l: unknown): l is LastReturned => {
  const o = l as LastReturned;
  return (
    typeof o === 'object' &&
    o !== null &&
    (o.k === null || Number.isFinite(o.k)) &&
    Array.isArray(o.r) &&
    o.r.length <= MAX_TIE_IDS &&
    o.r.every((pair) => Array.isArray(pair) && pair.length === 2 && typeof pair[0] === 'string' && typeof pair[1] === 'string')
  );
};

/** The cursor an `after` argument carries, checked against the query it is used with. */
export function decodeMergeCursor(text: string, fingerprint: string): MergeCursor {
  let cursor: MergeCursor | null = null;
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as MergeCursor;
    if (
      c.v === 2 &&
      typeof c.q === 'string' &&
      typeof c.p === 'object' &&
      c.p !== null &&
      Object.values(c.p).every(isPosition) &&
      (c.l === undefined || isLast(c.l))
    )
      cursor = c;
  } catch {
    // fall through
  }
  if (!cursor) throw badUserInput('`after` is not a cursor returned by this field', 'after');
  if (cursor.q !== fingerprint) throw badUserInput('`after` belongs to another query (a different orderBy or filter)', 'after');
  return cursor;
}

/**
 * The keyset guard: a record sorting before the last one returned, or returned at the same key,
 * was already served (an offset-paginated provider shifted it back into view when a record was
 * inserted ahead of the walk), so the merge skips it instead of repeating it.
 */
export function alreadyReturned(
  key: number | null,
  connectionId: string,
  remoteId: string,
  last: LastReturned | undefined,
  direction: ListOrder['direction'],
): boolean {
  if (!last) return false;
  const c = compareKeys(key, last.k, direction);
  if (c !== 0) return c < 0;
  return last.r.some(([k, id]) => k === connectionId && id === remoteId);
}

/** The last-returned record after one more: ties at the same key accumulate (bounded). */
export function advanceLast(last: LastReturned | undefined, key: number | null, connectionId: string, remoteId: string): LastReturned {
  if (last && last.k === key) {
    return { k: key, r: last.r.length < MAX_TIE_IDS ? [...last.r, [connectionId, remoteId]] : last.r };
  }
  return { k: key, r: [[connectionId, remoteId]] };
}
