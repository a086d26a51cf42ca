// The HubSpot connector: Contact, Invoice and Order loaders over the CRM v3 objects API, with
// invoice/order links (contact, line items) read through associations in a bounded number of calls,
// and webhooks (signature v3, id-only change events; webhooks.ts).
// Call counts per operation are documented in README.md.
import { defineConnector } from '../sdk/define.ts';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, InvoiceModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorContext, EntityLoader, ListArgs, ListFilter, ListPage } from '../sdk/types.ts';
import {
  CONTACT_PROPERTIES,
  HubSpotClient,
  INVOICE_PROPERTIES,
  LINE_ITEM_PROPERTIES,
  MODIFIED_PROPERTY,
  ORDER_PROPERTIES,
  type CrmObjectType,
} from './client.ts';
import { HUBSPOT_PAGE_MAX, hubspotManifest } from './manifest.ts';
import { associatedIds, associationsTruncated, mapContact, mapInvoice, mapOrder, type HubSpotObject, type MapOptions, type Related } from './mappers.ts';
import { hubspotWebhooks } from './webhooks.ts';

export { hubspotManifest } from './manifest.ts';
export { hubspotWebhooks } from './webhooks.ts';

type SearchFilter = { propertyName: string; operator: string; value: string };

function mapOptions(ctx: ConnectorContext): MapOptions {
  const portalId = ctx.connection.settings.portalId;
  return { portalId: typeof portalId === 'string' || typeof portalId === 'number' ? portalId : null };
}

function client(ctx: ConnectorContext): HubSpotClient {
  return new HubSpotClient(ctx, hubspotManifest.maxConcurrency);
}

function clampFirst(first: number): number {
  if (!Number.isFinite(first)) return HUBSPOT_PAGE_MAX;
  return Math.min(HUBSPOT_PAGE_MAX, Math.max(1, Math.floor(first)));
}

// Cursors say which HubSpot paging scheme produced them: the list endpoint's opaque `after`
// ("l:") or search's numeric offset ("s:"), so a cursor is never replayed against the other.
type CursorKind = 'l' | 's';
function encodeCursor(kind: CursorKind, after: string | null): string | null {
  return after === null ? null : `${kind}:${after}`;
}
function decodeCursor(cursor: string | null | undefined, kind: CursorKind): string | null {
  if (cursor === null || cursor === undefined || cursor === '') return null;
  if (!cursor.startsWith(`${kind}:`) || cursor.length <= 2) {
    throw new RangeError(`not a HubSpot ${kind === 'l' ? 'list' : 'search'} cursor: ${JSON.stringify(cursor.slice(0, 40))}`);
  }
  return cursor.slice(2);
}

function searchFilters(type: CrmObjectType, filter: ListFilter): SearchFilter[] {
  const filters: SearchFilter[] = [];
  if (filter.updatedSince) {
    const ms = Date.parse(filter.updatedSince);
    if (Number.isNaN(ms)) throw new RangeError(`updatedSince is not an ISO-8601 instant: ${JSON.stringify(filter.updatedSince)}`);
    filters.push({ propertyName: MODIFIED_PROPERTY[type], operator: 'GTE', value: String(ms) });
  }
  if (filter.email && type === 'contacts') filters.push({ propertyName: 'email', operator: 'EQ', value: filter.email });
  if (filter.contactRemoteId && type !== 'contacts') {
    filters.push({ propertyName: 'associations.contact', operator: 'EQ', value: filter.contactRemoteId });
  }
  return filters;
}

function notFound(entity: string, id: string): ConnectorError {
  return new ConnectorError('UPSTREAM_NOT_FOUND', `HubSpot has no ${entity} with id ${JSON.stringify(id)}`);
}

function mappingFailed(entity: string, id: string, err: unknown): ConnectorError {
  const reason = err instanceof Error ? err.message : String(err);
  return new ConnectorError('MAPPING_FAILED', `HubSpot ${entity} ${id} could not be mapped: ${reason}`, { cause: err });
}

/** Maps a page; a record that cannot be mapped fails the page loudly rather than vanishing. */
function mapAll<M>(entity: string, raws: HubSpotObject[], map: (raw: HubSpotObject) => M): M[] {
  return raws.map((raw) => {
    try {
      return map(raw);
    } catch (err) {
      throw mappingFailed(entity, raw.id, err);
    }
  });
}

/** One page from the list endpoint or, when a filter is set, from search. */
async function fetchPage(
  type: CrmObjectType,
  args: ListArgs,
  ctx: ConnectorContext,
  properties: readonly string[],
  inlineAssociations: readonly CrmObjectType[],
): Promise<{ results: HubSpotObject[]; endCursor: string | null; totalCount: number | null; searched: boolean }> {
  const hs = client(ctx);
  const limit = clampFirst(args.first);
  const filters = searchFilters(type, args.filter ?? {});
  if (filters.length === 0) {
    const page = await hs.list(type, { limit, after: decodeCursor(args.after, 'l'), properties, associations: inlineAssociations });
    return { results: page.results, endCursor: encodeCursor('l', page.after), totalCount: null, searched: false };
  }
  const page = await hs.search(type, { limit, after: decodeCursor(args.after, 's'), properties, filters });
  return { results: page.results, endCursor: encodeCursor('s', page.after), totalCount: page.total, searched: true };
}

// ---------------------------------------------------------------------------------------------
// Contact
// ---------------------------------------------------------------------------------------------

const contactLoader: EntityLoader<ContactModel> = {
  async byIds(ids, ctx) {
    const found = await client(ctx).batchRead('contacts', ids, CONTACT_PROPERTIES);
    const options = mapOptions(ctx);
    return ids.map((id) => {
      const raw = found.get(id);
      if (!raw) return notFound('contact', id);
      try {
        return mapContact(raw, options);
      } catch (err) {
        return mappingFailed('contact', id, err);
      }
    });
  },

  async list(args, ctx): Promise<ListPage<ContactModel>> {
    const page = await fetchPage('contacts', args, ctx, CONTACT_PROPERTIES, []);
    const options = mapOptions(ctx);
    return {
      nodes: mapAll('contact', page.results, (raw) => mapContact(raw, options)),
      endCursor: page.endCursor,
      hasNextPage: page.endCursor !== null,
      totalCount: page.totalCount,
    };
  },
};

// ---------------------------------------------------------------------------------------------
// Invoice / Order: records + contact link + line items
// ---------------------------------------------------------------------------------------------

interface Links {
  contact: Map<string, string | null>;
  lineItemIds: Map<string, string[]>;
}

/** Reads the line item records for every id in `links` (batch reads of 100, in parallel up to maxConcurrency). */
async function relatedFor(records: HubSpotObject[], links: Links, ctx: ConnectorContext): Promise<Map<string, Related>> {
  const allLineItemIds = [...new Set(records.flatMap((r) => links.lineItemIds.get(r.id) ?? []))];
  const lineItems = allLineItemIds.length > 0 ? await client(ctx).batchRead('line_items', allLineItemIds, LINE_ITEM_PROPERTIES) : new Map<string, HubSpotObject>();
  const out = new Map<string, Related>();
  for (const r of records) {
    const ids = links.lineItemIds.get(r.id) ?? [];
    out.set(r.id, {
      contactRemoteId: links.contact.get(r.id) ?? null,
      lineItemIds: ids,
      lineItems: ids.map((id) => lineItems.get(id)).filter((li): li is HubSpotObject => li !== undefined),
    });
  }
  return out;
}

/** Links from the v4 associations batch read (for records that came without inline associations). */
async function linksViaAssociations(type: CrmObjectType, ids: readonly string[], ctx: ConnectorContext): Promise<Links> {
  const hs = client(ctx);
  const [contacts, lineItems] = await Promise.all([hs.associations(type, 'contacts', ids), hs.associations(type, 'line_items', ids)]);
  const contact = new Map<string, string | null>();
  for (const [id, list] of contacts) contact.set(id, list[0] ?? null);
  return { contact, lineItemIds: lineItems };
}

/**
 * Links from `associations` embedded in list responses. A record whose embedded line item
 * collection is truncated (it carries paging) gets its full list from the v4 batch read instead:
 * one extra call for the whole page, and only when that happens.
 */
async function linksInline(type: CrmObjectType, records: HubSpotObject[], ctx: ConnectorContext): Promise<Links> {
  const contact = new Map<string, string | null>();
  const lineItemIds = new Map<string, string[]>();
  const truncated: string[] = [];
  for (const r of records) {
    contact.set(r.id, associatedIds(r, 'contacts')?.[0] ?? null);
    lineItemIds.set(r.id, associatedIds(r, 'line_items') ?? []);
    if (associationsTruncated(r, 'line_items')) truncated.push(r.id);
  }
  if (truncated.length > 0) {
    for (const [id, list] of await client(ctx).associations(type, 'line_items', truncated)) lineItemIds.set(id, list);
  }
  return { contact, lineItemIds };
}

function commerceLoader<M extends InvoiceModel | OrderModel>(
  type: 'invoices' | 'orders',
  entity: string,
  properties: readonly string[],
  map: (raw: HubSpotObject, related: Related, options: MapOptions) => M,
): EntityLoader<M> {
  return {
    async byIds(ids, ctx) {
      const hs = client(ctx);
      // The record read and both association reads are independent: one round trip for all three.
      const [found, links] = await Promise.all([hs.batchRead(type, ids, properties), linksViaAssociations(type, ids, ctx)]);
      const records = [...found.values()];
      const related = await relatedFor(records, links, ctx);
      const options = mapOptions(ctx);
      return ids.map((id) => {
        const raw = found.get(id);
        if (!raw) return notFound(entity, id);
        try {
          return map(raw, related.get(id) ?? { contactRemoteId: null, lineItems: [] }, options);
        } catch (err) {
          return mappingFailed(entity, id, err);
        }
      });
    },

    async list(args, ctx): Promise<ListPage<M>> {
      const page = await fetchPage(type, args, ctx, properties, ['contacts', 'line_items']);
      // Search answers carry no associations: read them for the page in two batch calls.
      const links = page.searched ? await linksViaAssociations(type, page.results.map((r) => r.id), ctx) : await linksInline(type, page.results, ctx);
      const related = await relatedFor(page.results, links, ctx);
      const options = mapOptions(ctx);
      return {
        nodes: mapAll(entity, page.results, (raw) => map(raw, related.get(raw.id) ?? { contactRemoteId: null, lineItems: [] }, options)),
        endCursor: page.endCursor,
        hasNextPage: page.endCursor !== null,
        totalCount: page.totalCount,
      };
    },
  };
}

export const hubspot = defineConnector({
  manifest: hubspotManifest,
  loaders: {
    Contact: contactLoader,
    Invoice: commerceLoader<InvoiceModel>('invoices', 'invoice', INVOICE_PROPERTIES, mapInvoice),
    Order: commerceLoader<OrderModel>('orders', 'order', ORDER_PROPERTIES, mapOrder),
  },
  webhooks: hubspotWebhooks,
});
