// The Xero connector (Accounting API 2.0): Contacts → Contact, Invoices (ACCREC sales invoices and
// ACCPAY bills) → Invoice. A connection is one organisation: every call carries its xero-tenant-id,
// and one OAuth grant becomes one connection per organisation it reaches (auth.afterConnect reads
// GET /connections for the grant's auth event). Batch reads are one `IDs=` list call per 50 ids,
// asked with `page=1` so invoices come with their line items; lists page with page/pageSize and the
// `pagination` block; updatedSince is the If-Modified-Since header. Disconnecting removes the
// organisation's connection at Xero and revokes the refresh token once no organisation of the grant
// is left (revocation kind `remove-connection`).
import { defineConnector } from '../sdk/define.ts';
import { coverage } from './coverage.ts';
import { ConnectorError } from '../sdk/errors.ts';
import type { ContactModel, InvoiceModel } from '../sdk/models.ts';
import type { ConnectGrant, ConnectorContext, EntityLoader, GrantedConnection, ListArgs, ListPage, QueryValue } from '../sdk/types.ts';
import { ACCOUNTING, DEFAULT_PAGE_SIZE, MAX_IDS, MAX_PAGE_SIZE, chunks, isGuid, xeroGet } from './client.ts';
import { mapContact, mapInvoice, type MapOptions, type XeroContact, type XeroInvoice } from './mappers.ts';
import { SETTINGS, xeroManifest } from './manifest.ts';
import { xeroWebhooks } from './webhooks.ts';

type Resource = 'Contacts' | 'Invoices';

interface Envelope {
  pagination?: { page?: number; pageSize?: number; pageCount?: number; itemCount?: number };
  Contacts?: XeroContact[];
  Invoices?: XeroInvoice[];
}

const mapOptions = (ctx: ConnectorContext): MapOptions => {
  const s = ctx.connection.settings;
  return {
    baseCurrency: typeof s[SETTINGS.baseCurrency] === 'string' ? (s[SETTINGS.baseCurrency] as string) : null,
    shortCode: typeof s[SETTINGS.shortCode] === 'string' ? (s[SETTINGS.shortCode] as string) : null,
  };
};

/** Query parameters every read of a resource sends. */
const FIXED: Record<Resource, Record<string, QueryValue>> = {
  // Archived contacts are still the contacts old invoices name.
  Contacts: { includeArchived: 'true' },
  Invoices: {},
};

function notFound(resource: Resource, id: string): ConnectorError {
  return new ConnectorError(
    'UPSTREAM_NOT_FOUND',
    `Xero has no ${resource === 'Invoices' ? 'invoice' : 'contact'} with id ${JSON.stringify(id)} in this organisation`,
    {
      retryable: false,
    },
  );
}

function batchRead<M>(resource: Resource, idOf: (raw: never) => string, map: (raw: unknown, options: MapOptions) => M) {
  return async (ids: readonly string[], ctx: ConnectorContext): Promise<Array<M | ConnectorError>> => {
    const wanted = [...new Set(ids.filter(isGuid).map((id) => id.toLowerCase()))];
    const found = new Map<string, M | ConnectorError>();
    // The chunks are independent reads: sent together (the upstream layer keeps them within the
    // manifest's maxConcurrency and rate windows), so 100 ids cost one round trip, not two.
    const bodies = await Promise.all(
      chunks(wanted, MAX_IDS).map((chunk) =>
        // page=1: Xero includes line items only in paged (or single) reads.
        xeroGet<Envelope>(ctx, {
          path: `${ACCOUNTING}/${resource}`,
          query: { ...FIXED[resource], IDs: chunk.join(','), page: 1, pageSize: chunk.length },
          operation: `${resource.toLowerCase()}.batchRead`,
        }),
      ),
    );
    for (const body of bodies) {
      for (const raw of body?.[resource] ?? []) {
        const id = idOf(raw as never).toLowerCase();
        try {
          found.set(id, map(raw, mapOptions(ctx)));
        } catch (err) {
          found.set(id, err instanceof ConnectorError ? err : new ConnectorError('MAPPING_FAILED', String(err), { retryable: false }));
        }
      }
    }
    return ids.map((id) => found.get(id.toLowerCase()) ?? notFound(resource, id));
  };
}

/**
 * Cursors are the offset of the next record, so a caller may change `first` between pages. Xero
 * pages by number only, so the page size is the largest one ≤ first that divides the offset (a
 * page may then hold fewer than `first`; hasNextPage says whether more follow).
 */
function decodeOffset(after: string | null | undefined): number {
  if (!after) return 0;
  if (!/^\d{1,9}$/.test(after)) throw new TypeError(`not a Xero list cursor: ${JSON.stringify(after)}`);
  return Number(after);
}

export function pageFor(first: number, offset: number): { page: number; pageSize: number } {
  let size = Math.min(MAX_PAGE_SIZE, Math.max(1, Math.floor(first)));
  while (offset % size !== 0) size--;
  return { page: offset / size + 1, pageSize: size };
}

/**
 * `order=`: Xero's records carry UpdatedDateUTC but no creation time, so a requested order is
 * UPDATED_AT either way; without one, changed-since reads oldest change first, else Xero's default.
 */
function orderParam(args: ListArgs): { order?: string } {
  if (args.orderBy) {
    if (args.orderBy.field !== 'UPDATED_AT') throw new TypeError('Xero lists sort by UpdatedDateUTC only (UPDATED_AT)');
    return { order: `UpdatedDateUTC ${args.orderBy.direction}` };
  }
  return args.filter.updatedSince ? { order: 'UpdatedDateUTC ASC' } : {};
}

/**
 * If-Modified-Since: the filter's instant, or the keyset start (UpdatedDateUTC ascending only:
 * Xero has no "modified before" to start a descending walk at a key), whichever is later.
 */
function modifiedSince(args: ListArgs): string | null {
  const since = args.filter.updatedSince ?? null;
  if (!args.keyset) return since;
  if (args.orderBy?.field !== 'UPDATED_AT' || args.orderBy.direction !== 'ASC') throw new TypeError('Xero starts a list at a key for UpdatedDateUTC ASC only');
  const from = Date.parse(args.keyset.from);
  if (Number.isNaN(from)) throw new TypeError(`keyset.from is not an ISO-8601 instant: ${args.keyset.from}`);
  return since !== null && Date.parse(since) > from ? since : args.keyset.from;
}

async function listPage<M>(
  resource: Resource,
  args: ListArgs,
  ctx: ConnectorContext,
  query: Record<string, QueryValue>,
  map: (raw: unknown) => M,
  keep: (raw: never) => boolean = () => true,
): Promise<ListPage<M>> {
  const offset = decodeOffset(args.after);
  const { page, pageSize } = pageFor(args.first, offset);
  const since = modifiedSince(args);
  const body = await xeroGet<Envelope>(ctx, {
    path: `${ACCOUNTING}/${resource}`,
    query: { ...FIXED[resource], ...query, page, pageSize, ...orderParam(args) },
    modifiedSince: since,
    operation: `${resource.toLowerCase()}.list`,
  });
  const items = (body?.[resource] ?? []) as unknown[];
  const p = body?.pagination;
  const end = offset + items.length;
  const hasNextPage = items.length > 0 && (typeof p?.pageCount === 'number' ? page < p.pageCount : items.length === pageSize);
  return {
    nodes: items.filter((raw) => keep(raw as never)).map(map),
    endCursor: items.length ? String(end) : null,
    hasNextPage,
    totalCount: typeof p?.itemCount === 'number' && !args.filter.email ? p.itemCount : null,
  };
}

const contacts: EntityLoader<ContactModel> = {
  byIds: batchRead<ContactModel>('Contacts', (c: XeroContact) => c.ContactID, mapContact),

  async list(args, ctx) {
    const email = args.filter.email?.trim().toLowerCase() || null;
    // searchTerm matches Name, FirstName, LastName, ContactNumber and EmailAddress (contains, any
    // case); the exact e-mail match is ours.
    return listPage(
      'Contacts',
      args,
      ctx,
      email ? { searchTerm: email } : {},
      (raw) => mapContact(raw, mapOptions(ctx)),
      (c: XeroContact) =>
        email ? (c.EmailAddress ?? '').toLowerCase() === email || (c.ContactPersons ?? []).some((p) => (p.EmailAddress ?? '').toLowerCase() === email) : true,
    );
  },
};

const invoices: EntityLoader<InvoiceModel> = {
  byIds: batchRead<InvoiceModel>('Invoices', (i: XeroInvoice) => i.InvoiceID, mapInvoice),

  async list(args, ctx) {
    const contact = args.filter.contactRemoteId ?? null;
    if (contact !== null && !isGuid(contact)) return { nodes: [], endCursor: null, hasNextPage: false, totalCount: 0 };
    return listPage('Invoices', args, ctx, contact ? { ContactIDs: contact } : {}, (raw) => mapInvoice(raw, mapOptions(ctx)));
  },
};

// ─── connect: one connection per organisation of the grant ────────────────────────────────────

interface XeroConnection {
  id: string;
  authEventId?: string;
  tenantId: string;
  tenantType?: string;
  tenantName?: string;
}

interface XeroOrganisation {
  Name?: string;
  BaseCurrency?: string;
  ShortCode?: string;
}

/** The `authentication_event_id` claim of Xero's JWT access token: which connections this grant made. */
export function authEventOf(accessToken: unknown): string | null {
  if (typeof accessToken !== 'string') return null;
  const parts = accessToken.split('.');
  if (parts.length !== 3) return null;
  try {
    const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as { authentication_event_id?: unknown };
    return typeof claims.authentication_event_id === 'string' && isGuid(claims.authentication_event_id) ? claims.authentication_event_id : null;
  } catch {
    return null;
  }
}

async function afterConnect(grant: ConnectGrant, ctx: ConnectorContext): Promise<GrantedConnection[]> {
  // The token came straight from Xero's token endpoint: its claims are read, not verified again.
  const authEventId = authEventOf(grant.tokenResponse.access_token);
  const listed = await xeroGet<XeroConnection[]>(ctx, {
    path: 'connections',
    query: authEventId ? { authEventId } : {},
    tenant: null,
    operation: 'connections.list',
  });
  if (!Array.isArray(listed)) throw new ConnectorError('UPSTREAM_BAD_RESPONSE', 'Xero GET /connections did not answer a list', { retryable: false });
  const orgs = listed.filter(
    (c) =>
      c &&
      typeof c.tenantId === 'string' &&
      (c.tenantType ?? 'ORGANISATION') === 'ORGANISATION' &&
      (!authEventId || !c.authEventId || c.authEventId === authEventId),
  );
  const out: GrantedConnection[] = [];
  for (const c of orgs) {
    const body = await xeroGet<{ Organisations?: XeroOrganisation[] }>(ctx, {
      path: `${ACCOUNTING}/Organisation`,
      tenant: c.tenantId,
      operation: 'organisation.get',
    });
    const org = body?.Organisations?.[0] ?? {};
    out.push({
      label: c.tenantName ?? org.Name ?? c.tenantId,
      settings: {
        [SETTINGS.tenant]: c.tenantId,
        [SETTINGS.connection]: c.id,
        ...((c.authEventId ?? authEventId) ? { [SETTINGS.authEvent]: (c.authEventId ?? authEventId) as string } : {}),
        ...(org.BaseCurrency ? { [SETTINGS.baseCurrency]: org.BaseCurrency } : {}),
        ...(org.ShortCode ? { [SETTINGS.shortCode]: org.ShortCode } : {}),
      },
    });
  }
  return out;
}

export const xero = defineConnector({
  coverage,
  manifest: xeroManifest,
  loaders: { Contact: contacts, Invoice: invoices },
  webhooks: xeroWebhooks,
  auth: { afterConnect },
});

export { DEFAULT_PAGE_SIZE, SETTINGS };
