// The HubSpot connector: Contact, Invoice and Order loaders over the CRM v3 objects API, with
// invoice/order contact links read through associations in a bounded number of calls, line items
// deferred (read only when a query selects them: they cost calls of their own), and webhooks
// (signature v3, id-only change events; webhooks.ts).
// Call counts per operation are documented in README.md.
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import { ConnectorError } from '../sdk/errors.ts';
import { afterCallsLeave } from '../sdk/scheduling.ts';
import type { ContactModel, InvoiceModel, OrderModel } from '../sdk/models.ts';
import type { ConnectorContext, ContactLoader, EntityLoader, LineItemOwnerLoader, ListArgs, ListFilter, ListOrder, ListPage } from '../sdk/types.ts';
import {
  CONTACT_PROPERTIES,
  HubSpotClient,
  INVOICE_PROPERTIES,
  LINE_ITEM_PROPERTIES,
  CREATED_PROPERTY,
  MODIFIED_PROPERTY,
  ORDER_PROPERTIES,
  type CrmObjectType,
} from './client.ts';
import { HUBSPOT_EMAILS_PER_SEARCH, HUBSPOT_PAGE_MAX, HUBSPOT_SEARCH_PAGE_MAX, hubspotManifest } from './manifest.ts';
import {
  associatedIds,
  associationsTruncated,
  mapContact,
  mapInvoice,
  mapLineItems,
  mapOrder,
  prop,
  type HubSpotObject,
  type MapOptions,
  type Related,
} from './mappers.ts';
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

/** The search sort for a requested order (the list endpoint has no sort: an order always goes through search). */
function searchSort(type: CrmObjectType, order: ListOrder | null | undefined): { propertyName: string; direction: 'ASCENDING' | 'DESCENDING' } | null {
  if (!order) return null;
  return {
    propertyName: (order.field === 'CREATED_AT' ? CREATED_PROPERTY : MODIFIED_PROPERTY)[type],
    direction: order.direction === 'ASC' ? 'ASCENDING' : 'DESCENDING',
  };
}

/** One page from the list endpoint or, when a filter or an order is set, from search (at most 10,000 results per query). */
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
  const sort = searchSort(type, args.orderBy);
  // Keyset start: the sort property at or after the key in the order (HubSpot compares datetimes as epoch ms).
  if (sort && args.keyset) {
    const ms = Date.parse(args.keyset.from);
    if (Number.isNaN(ms)) throw new RangeError(`keyset.from is not an ISO-8601 instant: ${JSON.stringify(args.keyset.from)}`);
    filters.push({ propertyName: sort.propertyName, operator: sort.direction === 'ASCENDING' ? 'GTE' : 'LTE', value: String(ms) });
  }
  if (filters.length === 0 && !sort) {
    const page = await hs.list(type, { limit, after: decodeCursor(args.after, 'l'), properties, associations: inlineAssociations });
    return { results: page.results, endCursor: encodeCursor('l', page.after), totalCount: null, searched: false };
  }
  const page = await hs.search(type, { limit, after: decodeCursor(args.after, 's'), properties, filters, sort });
  return { results: page.results, endCursor: encodeCursor('s', page.after), totalCount: page.total, searched: true };
}

// ---------------------------------------------------------------------------------------------
// Contact
// ---------------------------------------------------------------------------------------------

/** Pages one e-mail lookup may follow (200 per page) before it fails instead of reading on. */
const EMAIL_LOOKUP_MAX_PAGES = 10;

const contactLoader: ContactLoader = {
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

  /**
   * Contacts of many e-mail addresses: one CRM search per 100 addresses with `IN` on `email`
   * (HubSpot matches IN values lower-case, which is how the gateway hands them over). Like the
   * `email` list filter, only the primary `email` property is searched.
   */
  async findByEmails(emails, ctx) {
    const options = mapOptions(ctx);
    const found = new Map<string, ContactModel[]>(emails.map((e) => [e, []]));
    for (let i = 0; i < emails.length; i += HUBSPOT_EMAILS_PER_SEARCH) {
      const chunk = emails.slice(i, i + HUBSPOT_EMAILS_PER_SEARCH);
      let after: string | null = null;
      for (let pages = 1; ; pages++) {
        const page = await client(ctx).search('contacts', {
          limit: HUBSPOT_SEARCH_PAGE_MAX,
          after,
          properties: CONTACT_PROPERTIES,
          filters: [{ propertyName: 'email', operator: 'IN', values: [...chunk] }],
        });
        for (const raw of page.results) {
          const email = prop(raw, 'email')?.trim().toLowerCase();
          const slot = email ? found.get(email) : undefined;
          if (slot) slot.push(mapAll('contact', [raw], (r) => mapContact(r, options))[0] as ContactModel);
        }
        if (page.after === null) break;
        if (pages >= EMAIL_LOOKUP_MAX_PAGES)
          throw new ConnectorError(
            'UPSTREAM_BAD_RESPONSE',
            `HubSpot contacts.search kept paging past ${EMAIL_LOOKUP_MAX_PAGES} pages for ${chunk.length} e-mails`,
          );
        after = page.after;
      }
    }
    return emails.map((e) => found.get(e) ?? []);
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
// Invoice / Order: records + contact link; line items only when asked for
// ---------------------------------------------------------------------------------------------

/** Contact links of records read without inline associations (batch read, search): one v4 read per 1000. */
async function contactLinks(type: CrmObjectType, ids: readonly string[], ctx: ConnectorContext): Promise<Map<string, string | null>> {
  const links = new Map<string, string | null>();
  for (const [id, list] of await client(ctx).associations(type, 'contacts', ids)) links.set(id, list[0] ?? null);
  return links;
}

/** Sets a model's contact link after mapping: an invoice's contact, an order's customer. */
function linkContact(model: InvoiceModel | OrderModel, contactRemoteId: string | null): void {
  if (model.entity === 'Order') model.customerRemoteId = contactRemoteId;
  else model.contactRemoteId = contactRemoteId;
}

/** Contact links embedded in list answers (`associations=contacts`). */
function inlineContactLinks(records: readonly HubSpotObject[]): Map<string, string | null> {
  return new Map(records.map((r) => [r.id, associatedIds(r, 'contacts')?.[0] ?? null]));
}

/**
 * Line item ids per parent, in association order. A parent fresh from a list answer still carries
 * them inline in `raw` (the list asks for `associations=line_items` at no extra cost); the others
 * (batch read, search, served from the cache, or an embedded collection HubSpot truncated) get
 * theirs from one v4 association read for all of them.
 */
async function lineItemLinks(type: CrmObjectType, parents: readonly (InvoiceModel | OrderModel)[], ctx: ConnectorContext): Promise<Map<string, string[]>> {
  const links = new Map<string, string[]>();
  const unknown: string[] = [];
  for (const parent of parents) {
    const raw = parent.raw as HubSpotObject | undefined;
    const inline = raw?.associations ? associatedIds(raw, 'line_items') : null;
    if (raw && inline && !associationsTruncated(raw, 'line_items')) links.set(parent.source.remoteId, inline);
    else unknown.push(parent.source.remoteId);
  }
  if (unknown.length > 0) {
    for (const [id, list] of await client(ctx).associations(type, 'line_items', unknown)) links.set(id, list);
  }
  return links;
}

/** A cursor of the per-contact list read through associations ("a:<offset>" in association order). */
function decodeOffset(cursor: string | null | undefined): number {
  if (cursor === null || cursor === undefined || cursor === '') return 0;
  const m = /^a:(\d{1,9})$/.exec(cursor);
  if (!m) throw new RangeError(`not a HubSpot per-contact cursor: ${JSON.stringify(cursor.slice(0, 40))}`);
  return Number(m[1]);
}

/** Only a contact filter: the records of a contact are read through associations (batchable across contacts). */
const contactOnly = (filter: ListFilter | undefined): filter is ListFilter & { contactRemoteId: string } =>
  Boolean(filter?.contactRemoteId) && !filter?.email && !filter?.updatedSince;

function commerceLoader<M extends InvoiceModel | OrderModel>(
  type: 'invoices' | 'orders',
  entity: string,
  properties: readonly string[],
  map: (raw: HubSpotObject, related: Related, options: MapOptions) => M,
): LineItemOwnerLoader<M> {
  /**
   * Pages of records of many contacts: one v4 association read per 1000 contacts (in HubSpot's
   * association order), then the records of every page at once as byIds reads them (batch reads
   * of 100, with their contact links). A page's cursor continues in `list` with the contact filter.
   */
  const pagesForContacts = async (
    contactIds: readonly string[],
    first: number,
    offset: number,
    ctx: ConnectorContext,
  ): Promise<Array<ListPage<M> | ConnectorError>> => {
    const links = await client(ctx).associations('contacts', type, contactIds);
    const windows = contactIds.map((id) => {
      const all = links.get(id) ?? [];
      return { all, ids: all.slice(offset, offset + first) };
    });
    const wanted = [...new Set(windows.flatMap((w) => w.ids))];
    const slots = wanted.length > 0 ? await loader.byIds(wanted, ctx) : [];
    const byId = new Map(wanted.map((id, i) => [id, slots[i]]));
    return windows.map(({ all, ids }) => {
      const nodes: M[] = [];
      for (const id of ids) {
        const slot = byId.get(id);
        if (slot instanceof ConnectorError) {
          if (slot.code === 'UPSTREAM_NOT_FOUND') continue; // associated, then deleted: not listed
          return slot;
        }
        if (slot) nodes.push(slot);
      }
      const next = offset + ids.length;
      const hasNextPage = next < all.length;
      return { nodes, endCursor: hasNextPage ? `a:${next}` : null, hasNextPage, totalCount: all.length };
    });
  };

  const loader: LineItemOwnerLoader<M> = {
    async byIds(ids, ctx) {
      // The record read and the contact association read are independent: one round trip for both.
      const [found, contacts] = await Promise.all([client(ctx).batchRead(type, ids, properties), contactLinks(type, ids, ctx)]);
      const options = mapOptions(ctx);
      return ids.map((id) => {
        const raw = found.get(id);
        if (!raw) return notFound(entity, id);
        try {
          return map(raw, { contactRemoteId: contacts.get(id) ?? null }, options);
        } catch (err) {
          return mappingFailed(entity, id, err);
        }
      });
    },

    async listForContacts(contactIds, args, ctx) {
      return pagesForContacts(contactIds, clampFirst(args.first), 0, ctx);
    },

    async list(args, ctx): Promise<ListPage<M>> {
      if (contactOnly(args.filter)) {
        const [page] = await pagesForContacts([args.filter.contactRemoteId], clampFirst(args.first), decodeOffset(args.after), ctx);
        if (page instanceof ConnectorError) throw page;
        return page as ListPage<M>;
      }
      const page = await fetchPage(type, args, ctx, properties, ['contacts', 'line_items']);
      const options = mapOptions(ctx);
      const rest = { endCursor: page.endCursor, hasNextPage: page.endCursor !== null, totalCount: page.totalCount };
      if (!page.searched) {
        const contacts = inlineContactLinks(page.results);
        return { nodes: mapAll(entity, page.results, (raw) => map(raw, { contactRemoteId: contacts.get(raw.id) ?? null }, options)), ...rest };
      }
      // Search answers carry no associations: the contact links take one batch call for the page,
      // and the page is mapped while that call is out (~1 ms for 100 records), each link set after.
      const links = contactLinks(
        type,
        page.results.map((r) => r.id),
        ctx,
      );
      await afterCallsLeave(ctx, links);
      const nodes = mapAll(entity, page.results, (raw) => map(raw, { contactRemoteId: null }, options));
      const contacts = await links;
      for (const node of nodes) linkContact(node, contacts.get(node.source.remoteId) ?? null);
      return { nodes, ...rest };
    },

    async lineItems(parents, ctx) {
      const links = await lineItemLinks(type, parents, ctx);
      const allIds = [...new Set([...links.values()].flat())];
      const records = allIds.length > 0 ? await client(ctx).batchRead('line_items', allIds, LINE_ITEM_PROPERTIES) : new Map<string, HubSpotObject>();
      return parents.map((parent) => {
        try {
          return mapLineItems(links.get(parent.source.remoteId) ?? [], records, parent.currency);
        } catch (err) {
          return mappingFailed(`line items of ${entity}`, parent.source.remoteId, err);
        }
      });
    },
  };
  return loader;
}

export const hubspot = defineConnector({
  coverage,
  manifest: hubspotManifest,
  loaders: {
    Contact: contactLoader,
    Invoice: commerceLoader<InvoiceModel>('invoices', 'invoice', INVOICE_PROPERTIES, mapInvoice),
    Order: commerceLoader<OrderModel>('orders', 'order', ORDER_PROPERTIES, mapOrder),
  },
  webhooks: hubspotWebhooks,
});
