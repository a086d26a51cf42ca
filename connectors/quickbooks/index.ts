// The QuickBooks Online connector: Customer → Contact, Invoice → Invoice (with its payments),
// SalesReceipt → Order, over the Accounting API's query language. A batch of ids is one query
// (`SELECT * FROM Invoice WHERE Id IN ('1','2') STARTPOSITION 1 MAXRESULTS 1000`); invoices add one
// query for the Payment records they link, so `payments` is filled in the same batch. Lists page
// with STARTPOSITION/MAXRESULTS ordered by Id (or the requested MetaData time) and filter on MetaData.LastUpdatedTime, CustomerRef
// and PrimaryEmailAddr. The company id (realmId) comes from the OAuth callback (auth.afterConnect).
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import { ConnectorError, isConnectorError } from '../sdk/errors.ts';
import { afterCallsLeave } from '../sdk/scheduling.ts';
import type { ContactModel, InvoiceModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorAuthHooks, ConnectorContext, EntityLoader, ListArgs, ListOrder, ListPage } from '../sdk/types.ts';
import { MAX_RESULTS, MINOR_VERSION, chunks, errorFromResponse, faultOf, isQboId, isRealmId, qboQuery, queryInstant, quote } from './client.ts';
import { manifest } from './manifest.ts';
import { linkedPaymentIds, mapCustomer, mapInvoice, mapSalesReceipt, withPayments, type MapOptions } from './mappers.ts';
import type { QboCustomer, QboEntityName, QboInvoice, QboPayment, QboSalesReceipt } from './qbo-types.ts';
import { REALM_SETTING, quickbooksWebhooks } from './webhooks.ts';

export const HOME_CURRENCY_SETTING = 'homeCurrency';

const mapOptions = (ctx: ConnectorContext): MapOptions => {
  const home = ctx.connection.settings[HOME_CURRENCY_SETTING];
  return { homeCurrency: typeof home === 'string' && /^[A-Z]{3}$/.test(home) ? home : null };
};

const UNIFIED: Record<QboEntityName, string> = { Customer: 'customer', Invoice: 'invoice', SalesReceipt: 'sales receipt', Payment: 'payment' };
const notFound = (entity: QboEntityName, id: string) =>
  new ConnectorError('UPSTREAM_NOT_FOUND', `QuickBooks has no ${UNIFIED[entity]} with id ${JSON.stringify(id)}`, { retryable: false });

const asError = (err: unknown): ConnectorError => (isConnectorError(err) ? err : new ConnectorError('MAPPING_FAILED', String(err), { retryable: false }));

/** Customers are a name list: without an Active condition QuickBooks answers active ones only. */
const ALL_CUSTOMERS = 'Active IN (true, false)';

/** The query of one batch: Id IN (…) over at most MAX_RESULTS distinct ids. */
export function batchQuery(entity: QboEntityName, ids: readonly string[]): string {
  const conditions = [...(entity === 'Customer' ? [ALL_CUSTOMERS] : []), `Id IN (${ids.map(quote).join(', ')})`];
  return `SELECT * FROM ${entity} WHERE ${conditions.join(' AND ')} STARTPOSITION 1 MAXRESULTS ${MAX_RESULTS}`;
}

/** The Payment records `invoices` link, read in Id IN batches (none: no call). */
async function linkedPayments(invoices: readonly QboInvoice[], ctx: ConnectorContext): Promise<QboPayment[]> {
  const ids = [...new Set(invoices.flatMap(linkedPaymentIds))].filter(isQboId);
  const out: QboPayment[] = [];
  for (const chunk of chunks(ids, MAX_RESULTS)) out.push(...(await qboQuery<QboPayment>(ctx, 'Payment', batchQuery('Payment', chunk), 'payments.batchRead')));
  return out;
}

/**
 * The payments that apply to each invoice (a line linking it), so each invoice's mapping scans its
 * own few rather than every payment of the page (100 invoices × 100 payments was ~10,000 scans).
 */
function paymentsByInvoice(payments: readonly QboPayment[]): Map<string, QboPayment[]> {
  const byInvoice = new Map<string, QboPayment[]>();
  for (const p of payments) {
    const linked = new Set<string>();
    for (const line of p.Line ?? []) for (const l of line.LinkedTxn ?? []) if (l.TxnType === 'Invoice') linked.add(l.TxnId);
    for (const id of linked) {
      const list = byInvoice.get(id);
      if (list) list.push(p);
      else byInvoice.set(id, [p]);
    }
  }
  return byInvoice;
}

/** Maps invoices with the payments they link (one extra query for the whole set). */
async function mapInvoices(invoices: QboInvoice[], ctx: ConnectorContext): Promise<Array<InvoiceModel | ConnectorError>> {
  // The page is mapped while its payments are read (~1 ms of mapping for 100 invoices), and each
  // invoice gets its payments when they answer.
  const read = linkedPayments(invoices, ctx);
  await afterCallsLeave(ctx, read);
  const options = mapOptions(ctx);
  const models = invoices.map((inv) => {
    try {
      return mapInvoice(inv, options, null);
    } catch (err) {
      return asError(err);
    }
  });
  const payments = paymentsByInvoice(await read);
  return models.map((model) => {
    if (model instanceof ConnectorError) return model;
    try {
      return withPayments(model, payments.get(model.source.remoteId) ?? []);
    } catch (err) {
      return asError(err);
    }
  });
}

function byIds<Raw extends { Id: string }, M>(
  entity: QboEntityName,
  operation: string,
  mapAll: (rows: Raw[], ctx: ConnectorContext) => Promise<Array<M | ConnectorError>>,
) {
  return async (ids: readonly string[], ctx: ConnectorContext): Promise<Array<M | ConnectorError>> => {
    const wanted = [...new Set(ids)].filter(isQboId);
    const found = new Map<string, M | ConnectorError>();
    for (const chunk of chunks(wanted, MAX_RESULTS)) {
      try {
        const rows = await qboQuery<Raw>(ctx, entity, batchQuery(entity, chunk), operation);
        const models = await mapAll(rows, ctx);
        rows.forEach((row, i) => found.set(row.Id, models[i] as M | ConnectorError));
      } catch (err) {
        for (const id of chunk) found.set(id, asError(err));
      }
    }
    return ids.map((id) => found.get(id) ?? notFound(entity, id));
  };
}

function decodeStart(after: string | null | undefined): number {
  if (!after) return 1;
  if (!/^[1-9]\d{0,8}$/.test(after)) throw new TypeError(`not a QuickBooks list cursor: ${JSON.stringify(after)}`);
  return Number(after);
}

/** ORDERBY for a requested order (MetaData.CreateTime / LastUpdatedTime, ASC or DESC); else Id, so offsets stay stable. */
function orderByClause(order: ListOrder | null | undefined): string {
  if (!order) return 'ORDERBY Id';
  const field = order.field === 'CREATED_AT' ? 'MetaData.CreateTime' : 'MetaData.LastUpdatedTime';
  return `ORDERBY ${field}${order.direction === 'DESC' ? ' DESC' : ''}`;
}

/**
 * One page: STARTPOSITION from the cursor, one row more than asked (when that fits in 1000) to
 * know whether another page follows, in the requested order (else by Id).
 */
async function listPage<Raw, M>(
  entity: QboEntityName,
  conditions: string[],
  args: ListArgs,
  ctx: ConnectorContext,
  operation: string,
  mapAll: (rows: Raw[], ctx: ConnectorContext) => Promise<Array<M | ConnectorError>>,
): Promise<ListPage<M>> {
  const first = Math.min(MAX_RESULTS, Math.max(1, Math.floor(args.first)));
  const start = decodeStart(args.after);
  const ask = Math.min(MAX_RESULTS, first + 1);
  const where = conditions.length ? ` WHERE ${conditions.join(' AND ')}` : '';
  const rows = await qboQuery<Raw>(
    ctx,
    entity,
    `SELECT * FROM ${entity}${where} ${orderByClause(args.orderBy)} STARTPOSITION ${start} MAXRESULTS ${ask}`,
    operation,
  );
  const page = rows.slice(0, first);
  const hasNextPage = ask > first ? rows.length > first : rows.length === first;
  const models = await mapAll(page, ctx);
  const nodes = models.map((m) => {
    if (m instanceof ConnectorError) throw m;
    return m;
  });
  return { nodes, endCursor: page.length ? String(start + page.length) : null, hasNextPage };
}

const updatedSince = (args: ListArgs): string[] => [
  ...(args.filter.updatedSince ? [`MetaData.LastUpdatedTime >= ${quote(queryInstant(args.filter.updatedSince))}`] : []),
  ...keysetCondition(args),
];

/**
 * Keyset start: the order's timestamp at or after the key in the order (`>=` ascending, `<=`
 * descending). QuickBooks keeps whole seconds: the bound is rounded outwards so the key's own
 * second is inside.
 */
function keysetCondition(args: ListArgs): string[] {
  if (!args.keyset || !args.orderBy) return [];
  const field = args.orderBy.field === 'CREATED_AT' ? 'MetaData.CreateTime' : 'MetaData.LastUpdatedTime';
  const ms = Date.parse(args.keyset.from);
  if (Number.isNaN(ms)) throw new TypeError(`keyset.from is not an ISO-8601 instant: ${args.keyset.from}`);
  const bound = args.orderBy.direction === 'ASC' ? ms : Math.ceil(ms / 1000) * 1000;
  return [`${field} ${args.orderBy.direction === 'ASC' ? '>=' : '<='} ${quote(queryInstant(new Date(bound).toISOString()))}`];
}

const mapEach =
  <Raw, M>(map: (raw: Raw, options: MapOptions) => M) =>
  async (rows: Raw[], ctx: ConnectorContext): Promise<Array<M | ConnectorError>> =>
    rows.map((r) => {
      try {
        return map(r, mapOptions(ctx));
      } catch (err) {
        return asError(err);
      }
    });

const contacts: EntityLoader<ContactModel> = {
  byIds: byIds<QboCustomer, ContactModel>('Customer', 'customers.batchRead', mapEach(mapCustomer)),
  async list(args, ctx) {
    const email = args.filter.email?.trim();
    const conditions = [
      // A change feed must see deactivated ("deleted") customers too.
      ...(args.filter.updatedSince ? [ALL_CUSTOMERS] : []),
      ...(email ? [`PrimaryEmailAddr = ${quote(email)}`] : []),
      ...updatedSince(args),
    ];
    return listPage<QboCustomer, ContactModel>('Customer', conditions, args, ctx, 'customers.list', mapEach(mapCustomer));
  },
};

/** Invoices or receipts of one customer; an id QuickBooks cannot have matches nothing, without a call. */
function customerCondition(args: ListArgs): string[] | null {
  const customer = args.filter.contactRemoteId;
  if (customer === null || customer === undefined) return [];
  return isQboId(customer) ? [`CustomerRef = ${quote(customer)}`] : null;
}

const EMPTY = { nodes: [], endCursor: null, hasNextPage: false, totalCount: 0 };

const invoices: EntityLoader<InvoiceModel> = {
  byIds: byIds<QboInvoice, InvoiceModel>('Invoice', 'invoices.batchRead', mapInvoices),
  async list(args, ctx) {
    const customer = customerCondition(args);
    if (customer === null) return EMPTY;
    return listPage<QboInvoice, InvoiceModel>('Invoice', [...customer, ...updatedSince(args)], args, ctx, 'invoices.list', mapInvoices);
  },
};

const orders: EntityLoader<OrderModel> = {
  byIds: byIds<QboSalesReceipt, OrderModel>('SalesReceipt', 'salesReceipts.batchRead', mapEach(mapSalesReceipt)),
  async list(args, ctx) {
    const customer = customerCondition(args);
    if (customer === null) return EMPTY;
    return listPage<QboSalesReceipt, OrderModel>(
      'SalesReceipt',
      [...customer, ...updatedSince(args)],
      args,
      ctx,
      'salesReceipts.list',
      mapEach(mapSalesReceipt),
    );
  },
};

/**
 * After the token exchange: the company id comes on the callback (`realmId`), not in the token
 * response. With the new token, read the company's name (for the connection's label) and home
 * currency (the base of invoice exchange rates).
 */
export const quickbooksAuth: ConnectorAuthHooks = {
  async afterConnect(grant, ctx) {
    const realmId = grant.callbackParams.realmId ?? '';
    if (!isRealmId(realmId)) {
      throw new ConnectorError('UPSTREAM_BAD_RESPONSE', 'the QuickBooks callback carried no company id (realmId); connect again and pick a company', {
        retryable: false,
      });
    }
    const read = async (path: string, operation: string) => {
      const res = await ctx.fetch({ method: 'GET', path: `/v3/company/${realmId}${path}`, query: { minorversion: MINOR_VERSION }, operation });
      if (res.status < 200 || res.status >= 300 || faultOf(res.body)) throw errorFromResponse(res, operation);
      return res.body as Record<string, unknown>;
    };
    const prefs = (await read('/preferences', 'preferences.read')).Preferences as { CurrencyPrefs?: { HomeCurrency?: { value?: string } } } | undefined;
    const info = (await read(`/companyinfo/${realmId}`, 'companyinfo.read')).CompanyInfo as { CompanyName?: string } | undefined;
    const home = prefs?.CurrencyPrefs?.HomeCurrency?.value;
    return [
      {
        settings: { [REALM_SETTING]: realmId, ...(home && /^[A-Z]{3}$/.test(home) ? { [HOME_CURRENCY_SETTING]: home } : {}) },
        label: info?.CompanyName ? `${info.CompanyName} (QuickBooks)` : `QuickBooks company ${realmId}`,
      },
    ];
  },
};

export const quickbooks = defineConnector({
  coverage,
  manifest,
  loaders: { Contact: contacts, Invoice: invoices, Order: orders },
  webhooks: quickbooksWebhooks,
  auth: quickbooksAuth,
});
