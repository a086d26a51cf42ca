// The Salesforce connector (REST API v66.0): Contact → Contact, Order (+ OrderItem) → Order.
// Batch reads are one sObject Collections GET per 200 ids; lists are SOQL queries with keyset
// cursors (ORDER BY Id, or SystemModstamp, Id when filtered by updatedSince), following
// nextRecordsUrl inside a page; OrderItems are deferred and read with one SOQL query per 200
// orders. Salesforce has no signed webhooks: changes come from the gateway's poller, which reads
// lists with updatedSince and deletions through queryAll (polling.deletedSince). Invoices are
// not served: core Salesforce has none (see README, coverage).
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, EntityType, LineItemModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorContext, EntityLoader, LineItemOwnerLoader, ListArgs, ListPage } from '../sdk/types.ts';
import { COLLECTION_IDS_MAX, QUERY_BATCH_MAX, chunks, collectionsGet, soqlQuery } from './client.ts';
import {
  CONTACT_FIELDS,
  ORDER_FIELDS,
  ORDER_ITEM_FIELDS,
  mapContact,
  mapOrder,
  mapOrderItem,
  sfInstant,
  type MapOptions,
  type SfContact,
  type SfOrder,
  type SfOrderItem,
} from './mappers.ts';
import { isSalesforceId, soqlDateTime, soqlList, soqlString } from './soql.ts';
import { LIST_ORDER_NAMES } from '../sdk/manifest.ts';

/** The Lightning host an instance_url must have: the org's My Domain (`acme.my.salesforce.com`, sandboxes `acme--dev.sandbox.my.salesforce.com`). */
export const INSTANCE_HOST_PATTERN = '[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\\.sandbox|\\.develop)?\\.my\\.salesforce\\.com';
/** `Sforce-Limit-Info: api-usage=10018/100000` (newer orgs add `; api-bursts=1/750`). */
export const LIMIT_INFO_HEADER = 'sforce-limit-info';
export const LIMIT_INFO_PATTERN = 'api-usage=(?<used>\\d+)/(?<limit>\\d+)';

const mapOptions = (ctx: ConnectorContext): MapOptions => ({
  instanceUrl: ctx.connection.baseUrl,
  currency: typeof ctx.connection.settings['currency'] === 'string' ? ctx.connection.settings['currency'] : 'USD',
});

type SObject = 'Contact' | 'Order';
const FIELDS: Record<SObject, readonly string[]> = { Contact: CONTACT_FIELDS, Order: ORDER_FIELDS };

const notFound = (type: SObject, id: string) =>
  new ConnectorError('UPSTREAM_NOT_FOUND', `Salesforce has no ${type} ${JSON.stringify(id)} (or the connected user cannot see it)`, { retryable: false });

/** byIds through sObject Collections: one GET per 200 distinct ids; a null element is NOT_FOUND. */
function collectionsRead<M>(type: SObject, map: (raw: unknown, options: MapOptions) => M) {
  return async (ids: readonly string[], ctx: ConnectorContext): Promise<Array<M | ConnectorError>> => {
    const wanted = [...new Set(ids.filter(isSalesforceId))];
    const found = new Map<string, M | ConnectorError>();
    await Promise.all(
      chunks(wanted, COLLECTION_IDS_MAX).map(async (chunk) => {
        let records: Array<unknown | null>;
        try {
          records = await collectionsGet(ctx, type, chunk, FIELDS[type], `${type}.collections`);
        } catch (err) {
          const error = err instanceof ConnectorError ? err : new ConnectorError('MAPPING_FAILED', String(err), { retryable: false });
          for (const id of chunk) found.set(id, error);
          return;
        }
        chunk.forEach((id, i) => {
          const raw = records[i];
          if (raw === null || raw === undefined) return;
          try {
            found.set(id, map(raw, mapOptions(ctx)));
          } catch (err) {
            found.set(id, err instanceof ConnectorError ? err : new ConnectorError('MAPPING_FAILED', String(err), { retryable: false }));
          }
        });
      }),
    );
    // A 15-character id names the same record as its 18-character form.
    return ids.map((id) => found.get(id) ?? notFound(type, id));
  };
}

/** A list cursor: the last record's Id, and its sort-field value (CreatedDate or SystemModstamp) when the list is ordered by time. */
interface Cursor {
  id: string;
  stamp?: string;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

export function decodeCursor(after: string | null | undefined): Cursor | null {
  if (!after) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(after, 'base64url').toString('utf8'));
  } catch {
    parsed = null;
  }
  const c = parsed as Partial<Cursor> | null;
  if (!c || typeof c.id !== 'string' || !isSalesforceId(c.id) || (c.stamp !== undefined && (typeof c.stamp !== 'string' || Number.isNaN(Date.parse(c.stamp)))))
    throw new TypeError(`not a Salesforce list cursor: ${JSON.stringify(after)}`);
  return c as Cursor;
}

/** The keyset a list pages on: a time field and Id, either way; null: Id ascending. */
interface Keyset {
  field: 'CreatedDate' | 'SystemModstamp';
  desc: boolean;
}

/** The requested order (CreatedDate or SystemModstamp, then Id, ASC or DESC); else with updatedSince (SystemModstamp, Id) ascending, the keyset a poller resumes from. */
function keysetOf(args: ListArgs): Keyset | null {
  if (args.orderBy) return { field: args.orderBy.field === 'CREATED_AT' ? 'CreatedDate' : 'SystemModstamp', desc: args.orderBy.direction === 'DESC' };
  return args.filter.updatedSince ? { field: 'SystemModstamp', desc: false } : null;
}

/** The SOQL of one list page, after the cursor's record in the keyset. LIMIT first + 1 tells whether another page exists. */
export function listSoql(type: SObject, args: ListArgs, conditions: string[]): string {
  const where = [...conditions];
  const cursor = decodeCursor(args.after);
  const keyset = keysetOf(args);
  if (args.filter.updatedSince) where.push(`SystemModstamp >= ${soqlDateTime(args.filter.updatedSince)}`);
  if (cursor) {
    if (keyset && cursor.stamp) {
      const t = soqlDateTime(cursor.stamp);
      const past = keyset.desc ? '<' : '>';
      where.push(`(${keyset.field} ${past} ${t} OR (${keyset.field} = ${t} AND Id ${past} ${soqlString(cursor.id)}))`);
    } else where.push(`Id > ${soqlString(cursor.id)}`);
  }
  const first = Math.max(1, Math.min(QUERY_BATCH_MAX, Math.floor(args.first)));
  const dir = keyset?.desc ? 'DESC' : 'ASC';
  return [
    `SELECT ${FIELDS[type].join(', ')} FROM ${type}`,
    where.length ? `WHERE ${where.join(' AND ')}` : '',
    keyset ? `ORDER BY ${keyset.field} ${dir}, Id ${dir}` : 'ORDER BY Id ASC',
    `LIMIT ${first + 1}`,
  ]
    .filter(Boolean)
    .join(' ');
}

async function listPage<Raw extends { Id: string; SystemModstamp: string | null; CreatedDate?: string | null }, M>(
  type: SObject,
  args: ListArgs,
  conditions: string[],
  ctx: ConnectorContext,
  map: (raw: Raw) => M,
): Promise<ListPage<M>> {
  const first = Math.max(1, Math.min(QUERY_BATCH_MAX, Math.floor(args.first)));
  const { records } = await soqlQuery<Raw>(ctx, listSoql(type, args, conditions), `${type}.list`, { want: first + 1 });
  const page = records.slice(0, first);
  const last = page[page.length - 1];
  const keyset = keysetOf(args);
  const stamp = last && keyset ? (sfInstant(keyset.field === 'CreatedDate' ? (last.CreatedDate ?? null) : last.SystemModstamp) ?? undefined) : undefined;
  return {
    nodes: page.map(map),
    endCursor: last ? encodeCursor({ id: last.Id, ...(stamp ? { stamp } : {}) }) : null,
    hasNextPage: records.length > first,
  };
}

const contacts: EntityLoader<ContactModel> = {
  byIds: collectionsRead('Contact', mapContact),
  async list(args, ctx) {
    const email = args.filter.email?.trim() || null;
    return listPage<SfContact, ContactModel>('Contact', args, email ? [`Email = ${soqlString(email)}`] : [], ctx, (c) => mapContact(c, mapOptions(ctx)));
  },
};

/** OrderItems of many orders: one SOQL query per 200 orders (OrderId IN …), every batch followed. */
async function orderLineItems(parents: readonly OrderModel[], ctx: ConnectorContext): Promise<Array<LineItemModel[] | ConnectorError>> {
  const ids = [...new Set(parents.map((p) => p.source.remoteId).filter(isSalesforceId))];
  const byOrder = new Map<string, SfOrderItem[]>();
  const failed = new Map<string, ConnectorError>();
  await Promise.all(
    chunks(ids, COLLECTION_IDS_MAX).map(async (chunk) => {
      const soql = `SELECT ${ORDER_ITEM_FIELDS.join(', ')} FROM OrderItem WHERE OrderId IN ${soqlList(chunk)} ORDER BY OrderId ASC, Id ASC`;
      try {
        const { records } = await soqlQuery<SfOrderItem>(ctx, soql, 'OrderItem.byOrders');
        for (const item of records) byOrder.set(item.OrderId, [...(byOrder.get(item.OrderId) ?? []), item]);
      } catch (err) {
        const error = err instanceof ConnectorError ? err : new ConnectorError('UPSTREAM_BAD_RESPONSE', String(err), { retryable: false });
        for (const id of chunk) failed.set(id, error);
      }
    }),
  );
  return parents.map((p) => failed.get(p.source.remoteId) ?? (byOrder.get(p.source.remoteId) ?? []).map((item) => mapOrderItem(item, p.currency)));
}

const orders: LineItemOwnerLoader<OrderModel> = {
  byIds: collectionsRead('Order', mapOrder),
  async list(args, ctx) {
    const contact = args.filter.contactRemoteId ?? null;
    if (contact !== null && !isSalesforceId(contact)) return { nodes: [], endCursor: null, hasNextPage: false, totalCount: 0 };
    return listPage<SfOrder, OrderModel>('Order', args, contact ? [`BillToContactId = ${soqlString(contact)}`] : [], ctx, (o) => mapOrder(o, mapOptions(ctx)));
  },
  lineItems: orderLineItems,
};

/**
 * Records deleted (moved to the recycle bin) since `since`: queryAll with IsDeleted = true, whose
 * SystemModstamp is the deletion time. Hard-deleted or purged records are not seen (README).
 */
async function deletedSince(entity: EntityType, since: string, ctx: ConnectorContext): Promise<Array<{ remoteId: string; deletedAt: string }>> {
  if (entity !== 'Contact' && entity !== 'Order') return [];
  const soql = `SELECT Id, SystemModstamp FROM ${entity} WHERE IsDeleted = true AND SystemModstamp >= ${soqlDateTime(since)} ORDER BY SystemModstamp ASC, Id ASC`;
  const { records } = await soqlQuery<{ Id: string; SystemModstamp: string | null }>(ctx, soql, `${entity}.deleted`, { all: true });
  return records.flatMap((r) => {
    const at = sfInstant(r.SystemModstamp);
    return at ? [{ remoteId: r.Id, deletedAt: at }] : [];
  });
}

export const salesforce = defineConnector({
  coverage,
  manifest: {
    id: 'salesforce',
    displayName: 'Salesforce',
    auth: {
      oauth2: {
        authorizationUrl: 'https://login.salesforce.com/services/oauth2/authorize',
        tokenUrl: 'https://login.salesforce.com/services/oauth2/token',
        revocation: { type: 'rfc7009', url: 'https://login.salesforce.com/services/oauth2/revoke' },
        // api: REST access; refresh_token: a refresh token (offline access).
        scopes: ['api', 'refresh_token'],
        scopeSeparator: ' ',
        pkce: true,
        clientAuth: 'client_secret_post',
        grants: ['authorization_code'],
        // An External Client App may be set to rotate refresh tokens; the gateway keeps whatever it gets.
        refreshTokenRotation: 'optional',
        // Every request goes to the org's own instance, named by the token response.
        baseUrlFromTokenResponse: { field: 'instance_url', hostPattern: INSTANCE_HOST_PATTERN },
        authorizeParams: { prompt: 'consent' },
      },
    },
    // Requests go to the org's instance_url (each connection's base URL); this host only answers OAuth.
    defaultBaseUrl: 'https://login.salesforce.com',
    maxBatchSize: { Contact: COLLECTION_IDS_MAX, Order: COLLECTION_IDS_MAX },
    maxConcurrency: 4,
    maxPageSize: QUERY_BATCH_MAX,
    entities: ['Contact', 'Order'],
    // SOQL ORDER BY CreatedDate | SystemModstamp, Id (ASC or DESC), paged by keyset.
    listOrders: {
      Contact: { orders: [...LIST_ORDER_NAMES] },
      Order: { orders: [...LIST_ORDER_NAMES] },
    },
    rateLimits: {
      // No per-second limit is documented; this keeps one connection from draining the org's day in minutes.
      windows: [{ requests: 25, windowMs: 1000 }],
      // Long-running requests (≥ 20 s) are capped at 25 per org; ordinary reads are short.
      concurrency: 25,
      dailyAllocation: { header: LIMIT_INFO_HEADER, pattern: LIMIT_INFO_PATTERN },
      notes:
        'The org shares one rolling 24 h API allocation across every integration (Developer Edition 15,000; Enterprise 100,000 + 1,000 per licence), reported on each response as Sforce-Limit-Info: api-usage=used/max; spending it answers 403 REQUEST_LIMIT_EXCEEDED.',
    },
    events: { source: 'polling' },
    webhooks: { signatureHeader: null, timestampHeader: null, toleranceSeconds: null },
  },
  loaders: { Contact: contacts, Order: orders },
  polling: { deletedSince },
});
