// HubSpot CRM calls over ctx.fetch: v3 batch read, list, search and the v4 associations batch
// read. Checks response shapes and turns HubSpot's error answers into ConnectorErrors (message from
// the parsed body, never the raw body or the token).
import { ConnectorError, codeForStatus, parseRetryAfter } from '../sdk/errors.ts';
import type { ConnectorContext, QueryValue, UpstreamRequest, UpstreamResponse } from '../sdk/types.ts';
import { HUBSPOT_ASSOCIATIONS_BATCH_READ_MAX, HUBSPOT_BATCH_READ_MAX } from './manifest.ts';
import type { HubSpotObject } from './mappers.ts';

export type CrmObjectType = 'contacts' | 'invoices' | 'orders' | 'line_items';

// Properties requested explicitly on every read (HubSpot returns only a few defaults otherwise).
export const CONTACT_PROPERTIES = [
  'email',
  'firstname',
  'lastname',
  'phone',
  'mobilephone',
  'company',
  'jobtitle',
  'address',
  'city',
  'state',
  'zip',
  'country',
  'lifecyclestage',
  'hs_additional_emails',
  'createdate',
  'lastmodifieddate',
  'hs_object_id',
] as const;

export const INVOICE_PROPERTIES = [
  'hs_number',
  'hs_invoice_status',
  'hs_currency',
  'hs_invoice_date',
  'hs_due_date',
  'hs_payment_date',
  'hs_subtotal',
  'hs_tax',
  'hs_discount',
  'hs_amount_billed',
  'hs_amount_paid',
  'hs_balance_due',
  'hs_createdate',
  'hs_lastmodifieddate',
  'hs_object_id',
] as const;

const ADDRESS_FIELDS = ['firstname', 'lastname', 'street', 'city', 'state', 'postal_code', 'country'] as const;
export const ORDER_PROPERTIES = [
  'hs_order_name',
  'hs_external_order_id',
  'hs_currency_code',
  'hs_subtotal_price',
  'hs_shipping_cost',
  'hs_tax',
  'hs_order_discount',
  'hs_total_price',
  'hs_refund_amount',
  'hs_pipeline_stage',
  'hs_payment_status',
  'hs_fulfillment_status',
  'hs_billing_address_email',
  ...ADDRESS_FIELDS.map((f) => `hs_billing_address_${f}`),
  ...ADDRESS_FIELDS.map((f) => `hs_shipping_address_${f}`),
  'hs_createdate',
  'hs_lastmodifieddate',
  'hs_object_id',
] as const;

export const LINE_ITEM_PROPERTIES = ['name', 'quantity', 'price', 'amount', 'hs_sku', 'hs_product_id', 'hs_line_item_currency_code'] as const;

/** The property that search filters on for "changed since" (contacts differ from other objects). */
/** The creation-time property search sorts by (the object's `createdAt`). */
export const CREATED_PROPERTY: Record<CrmObjectType, string> = {
  contacts: 'createdate',
  invoices: 'hs_createdate',
  orders: 'hs_createdate',
  line_items: 'createdate',
};

export const MODIFIED_PROPERTY: Record<CrmObjectType, string> = {
  contacts: 'lastmodifieddate',
  invoices: 'hs_lastmodifieddate',
  orders: 'hs_lastmodifieddate',
  line_items: 'hs_lastmodifieddate',
};

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** HubSpot record ids are positive integers; anything else cannot exist there. */
export function isHubSpotId(id: string): boolean {
  return /^[1-9]\d{0,19}$/.test(id);
}

function redact(text: string, token: string): string {
  let out = text.replace(/Bearer\s+\S+/gi, 'Bearer [redacted]');
  if (token.length >= 4) out = out.split(token).join('[redacted]');
  out = out.replace(/\s+/g, ' ').trim();
  return out.length > 300 ? `${out.slice(0, 297)}...` : out;
}

/** A ConnectorError for a non-success HubSpot answer. */
export function errorFromResponse(res: UpstreamResponse, operation: string, token = ''): ConnectorError {
  const body = isObject(res.body) ? res.body : {};
  const category = typeof body.category === 'string' ? body.category : typeof body.errorType === 'string' ? body.errorType : null;
  const detail = typeof body.message === 'string' ? redact(body.message, token) : null;
  const correlationId = (typeof body.correlationId === 'string' ? body.correlationId : null) ?? res.headers.get('x-hubspot-correlation-id');
  const parts = [`HubSpot ${operation} answered ${res.status}`];
  if (category) parts.push(category);
  const message = detail ? `${parts.join(' ')}: ${detail}` : parts.join(' ');
  return new ConnectorError(codeForStatus(res.status), message, {
    upstreamStatus: res.status,
    upstreamRequestId: correlationId,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
  });
}

function badShape(operation: string, res: UpstreamResponse, what: string): ConnectorError {
  return new ConnectorError('UPSTREAM_BAD_RESPONSE', `HubSpot ${operation} answered ${res.status} with an unexpected body: ${what}`, {
    upstreamStatus: res.status,
    upstreamRequestId: res.headers.get('x-hubspot-correlation-id'),
  });
}

function parseObject(v: unknown): HubSpotObject | null {
  if (!isObject(v) || typeof v.id !== 'string' || !isObject(v.properties)) return null;
  return v as unknown as HubSpotObject;
}

function parseObjects(res: UpstreamResponse, operation: string): HubSpotObject[] {
  const body = res.body;
  if (!isObject(body) || !Array.isArray(body.results)) throw badShape(operation, res, 'no results array');
  return body.results.map((r) => {
    const obj = parseObject(r);
    if (!obj) throw badShape(operation, res, 'a result without id/properties');
    return obj;
  });
}

function nextAfter(body: unknown): string | null {
  if (!isObject(body) || !isObject(body.paging) || !isObject(body.paging.next)) return null;
  const after = body.paging.next.after;
  return typeof after === 'string' && after !== '' ? after : typeof after === 'number' ? String(after) : null;
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep the input order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/**
 * Most rounds of per-record association paging one read may take. HubSpot lets an account allow up
 * to 10,000 associated records per record and object type (its largest configurable association
 * limit): 20 pages at the emulator's 500 per page, and 100 rounds still cover pages as small as
 * 100. A server that hands out fresh cursors beyond that is broken, and following it would spend
 * the connection's rate budget (against Prism the unbounded loop made ~760 calls per read).
 */
export const ASSOCIATION_PAGING_MAX_ROUNDS = 100;

export function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export class HubSpotClient {
  constructor(
    private readonly ctx: ConnectorContext,
    private readonly concurrency = 4,
  ) {}

  /** Sends one request with the connection's token; non-`ok` statuses become ConnectorErrors. */
  private async send(request: Omit<UpstreamRequest, 'headers'>, ok: readonly number[] = [200]): Promise<UpstreamResponse> {
    const token = await this.ctx.accessToken();
    const res = await this.ctx.fetch({ ...request, headers: { authorization: `Bearer ${token}` } });
    if (!ok.includes(res.status)) throw errorFromResponse(res, request.operation, token);
    return res;
  }

  /**
   * Batch read by record id, chunked by 100. Returns the records found, keyed by id; ids HubSpot
   * reported missing (207) and ids it did not mention are simply absent.
   */
  async batchRead(type: CrmObjectType, ids: readonly string[], properties: readonly string[]): Promise<Map<string, HubSpotObject>> {
    const unique = [...new Set(ids)].filter(isHubSpotId);
    const found = new Map<string, HubSpotObject>();
    const operation = `${type}.batchRead`;
    await mapLimit(chunk(unique, HUBSPOT_BATCH_READ_MAX), this.concurrency, async (part) => {
      const res = await this.send(
        {
          method: 'POST',
          path: `/crm/v3/objects/${type}/batch/read`,
          json: { inputs: part.map((id) => ({ id })), properties: [...properties], propertiesWithHistory: [] },
          operation,
          idempotent: true,
        },
        [200, 207],
      );
      const body = res.body;
      if (isObject(body) && body.errors !== undefined && !Array.isArray(body.errors)) throw badShape(operation, res, 'errors is not an array');
      for (const obj of parseObjects(res, operation)) found.set(obj.id, obj);
    });
    return found;
  }

  /** One page of the plain list endpoint, optionally with associated ids inline. */
  async list(
    type: CrmObjectType,
    args: { limit: number; after: string | null; properties: readonly string[]; associations?: readonly CrmObjectType[] },
  ): Promise<{ results: HubSpotObject[]; after: string | null }> {
    const query: Record<string, QueryValue> = { limit: args.limit, properties: [...args.properties] };
    if (args.after) query.after = args.after;
    if (args.associations && args.associations.length > 0) query.associations = [...args.associations];
    const operation = `${type}.list`;
    const res = await this.send({ method: 'GET', path: `/crm/v3/objects/${type}`, query, operation });
    return { results: parseObjects(res, operation), after: nextAfter(res.body) };
  }

  /** One page of CRM search (offset cursor; filters in one AND group). */
  async search(
    type: CrmObjectType,
    args: {
      limit: number;
      after: string | null;
      properties: readonly string[];
      filters: Array<{ propertyName: string; operator: string; value?: string; values?: string[] }>;
      /** One sort at most (HubSpot refuses more); none keeps HubSpot's default order. */
      sort?: { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' } | null;
    },
  ): Promise<{ results: HubSpotObject[]; after: string | null; total: number | null }> {
    const operation = `${type}.search`;
    const res = await this.send({
      method: 'POST',
      path: `/crm/v3/objects/${type}/search`,
      json: {
        filterGroups: args.filters.length > 0 ? [{ filters: args.filters }] : [],
        // The spec types sorts as strings ("-prop" = descending) and marks all of these fields
        // required; an empty list keeps HubSpot's default order, which is stable for offset paging.
        sorts: args.sort ? [args.sort.direction === 'DESCENDING' ? `-${args.sort.propertyName}` : args.sort.propertyName] : [],
        properties: [...args.properties],
        limit: args.limit,
        after: args.after ?? '0',
      },
      operation,
      idempotent: true,
    });
    const total = isObject(res.body) && typeof res.body.total === 'number' ? res.body.total : null;
    return { results: parseObjects(res, operation), after: nextAfter(res.body), total };
  }

  /**
   * Associated ids (in HubSpot's order) for many records via the v4 associations batch read,
   * ≤ 1000 ids per call. Records with no associations (HubSpot answers 207 with an error for
   * them) map to an empty list. Follows per-record paging when a record has very many: a record
   * whose cursor does not move (or comes back to one already followed) is done, and more than
   * ASSOCIATION_PAGING_MAX_ROUNDS rounds fail the read instead of calling forever.
   */
  async associations(from: CrmObjectType, to: CrmObjectType, ids: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    const operation = `associations.${from}.${to}.batchRead`;
    const followedCursors = new Map<string, Set<string>>();
    let pending: Array<{ id: string; after?: string }> = [...new Set(ids)].filter(isHubSpotId).map((id) => ({ id }));
    for (const { id } of pending) out.set(id, []);
    for (let round = 1; pending.length > 0; round++) {
      if (round > ASSOCIATION_PAGING_MAX_ROUNDS) {
        throw new ConnectorError(
          'UPSTREAM_BAD_RESPONSE',
          `HubSpot ${operation} kept answering with new paging cursors: the association paging loop stopped after ${ASSOCIATION_PAGING_MAX_ROUNDS} rounds (${pending.length} records still had a next page)`,
        );
      }
      const followUps: Array<{ id: string; after: string }> = [];
      await mapLimit(chunk(pending, HUBSPOT_ASSOCIATIONS_BATCH_READ_MAX), this.concurrency, async (part) => {
        const res = await this.send(
          { method: 'POST', path: `/crm/v4/associations/${from}/${to}/batch/read`, json: { inputs: part }, operation, idempotent: true },
          [200, 207],
        );
        for (const { fromId, toIds, after } of parseAssociationResults(res, operation)) {
          const list = out.get(fromId) ?? [];
          for (const toId of toIds) if (!list.includes(toId)) list.push(toId);
          out.set(fromId, list);
          if (!after) continue;
          const followed = followedCursors.get(fromId) ?? new Set<string>();
          followedCursors.set(fromId, followed);
          // A cursor already followed for this record would only fetch a page we have (or loop).
          if (followed.has(after)) continue;
          followed.add(after);
          followUps.push({ id: fromId, after });
        }
      });
      pending = followUps;
    }
    return out;
  }
}

/** One v4 batch-read answer as (from id, associated ids, next cursor) per record. */
function parseAssociationResults(res: UpstreamResponse, operation: string): Array<{ fromId: string; toIds: string[]; after: string | null }> {
  const body = res.body;
  if (!isObject(body) || !Array.isArray(body.results)) throw badShape(operation, res, 'no results array');
  return body.results.map((r) => {
    if (!isObject(r) || !isObject(r.from) || !Array.isArray(r.to)) throw badShape(operation, res, 'a result without from/to');
    const toIds = r.to.map((t) => {
      if (!isObject(t) || (typeof t.toObjectId !== 'string' && typeof t.toObjectId !== 'number')) {
        throw badShape(operation, res, 'an association without toObjectId');
      }
      // Observed answers carry toObjectId as a number; the spec says string. Accept both.
      return String(t.toObjectId);
    });
    return { fromId: String(r.from.id), toIds, after: nextAfter(r) };
  });
}
