// The Accounting API routes the connector uses, answering like Xero: /api.xro/2.0/Contacts and
// /Invoices (lists with IDs=, ContactIDs=, Statuses=, where Type==, searchTerm, includeArchived,
// page/pageSize with a `pagination` block, If-Modified-Since, order on UpdatedDateUTC; without
// `page` an invoice list leaves LineItems out), the single reads /Contacts/{id} and /Invoices/{id}
// (404 plain text when unknown), and /Organisation. Every call names its organisation in
// xero-tenant-id (403 without one the token may read) and counts against that organisation's
// minute and day windows and the app's minute window (429 with Retry-After and
// X-Rate-Limit-Problem; X-*Limit-Remaining headers on every answer).
import { randomUUID } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { DAY_MS, RateWindows, type RateWindow } from '../../sdk/emulator-kit/index.ts';
import { forbidden } from './oauth.ts';
import { msDate, toXeroJson, type ContactRecord, type InvoiceRecord, type OrgRecord, type XeroStore } from './store.ts';

export const API = '/api.xro/2.0';
export const NOT_FOUND_TEXT = "The resource you're looking for cannot be found";
const MAX_PAGE_SIZE = 1000;

export interface XeroLimits {
  perMinute: number;
  perDay: number;
  appPerMinute: number;
}
export const XERO_LIMITS: XeroLimits = { perMinute: 60, perDay: 5000, appPerMinute: 10_000 };

export class XeroRateLimits {
  readonly windows = new RateWindows();
  constructor(readonly limits: XeroLimits) {}

  private tenantWindows(): RateWindow[] {
    return [
      { name: 'minute', max: this.limits.perMinute, intervalMs: 60_000 },
      { name: 'day', max: this.limits.perDay, intervalMs: DAY_MS, kind: 'fixed' },
    ];
  }
  private appWindow(): RateWindow {
    return { name: 'appminute', max: this.limits.appPerMinute, intervalMs: 60_000 };
  }

  /** Counts one call; a refusal names the window (X-Rate-Limit-Problem) and when to retry. */
  take(tenantId: string): { ok: true } | { ok: false; problem: string; retryAfterSeconds: number } {
    const app = this.windows.take('app', [this.appWindow()]);
    if (!app.allowed) return { ok: false, problem: 'appminute', retryAfterSeconds: Math.max(1, Math.ceil(app.retryAfterMs / 1000)) };
    const own = this.windows.take(tenantId, this.tenantWindows());
    if (!own.allowed) return { ok: false, problem: own.window.name, retryAfterSeconds: Math.max(1, Math.ceil(own.retryAfterMs / 1000)) };
    return { ok: true };
  }

  headers(tenantId: string | null): Record<string, string> {
    const [minute, day] = this.tenantWindows();
    return {
      ...(tenantId
        ? {
            'x-minlimit-remaining': String(this.windows.remaining(tenantId, minute!)),
            'x-daylimit-remaining': String(this.windows.remaining(tenantId, day!)),
          }
        : {}),
      'x-appminlimit-remaining': String(this.windows.remaining('app', this.appWindow())),
    };
  }
}

const jsonText = (status: number, body: unknown): EmulatorReply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8' },
  body: toXeroJson(body),
});
export const notFound = (): EmulatorReply => ({ status: 404, headers: { 'content-type': 'text/html; charset=utf-8' }, body: NOT_FOUND_TEXT });

/** Xero's 400 for a bad query (its ValidationException shape without entity elements). */
function badRequest(message: string): EmulatorReply {
  return jsonText(400, {
    ErrorNumber: 10,
    Type: 'ValidationException',
    Message: 'A validation exception occurred',
    Elements: [{ ValidationErrors: [{ Message: message }] }],
  });
}

const envelope = (extra: Record<string, unknown>) => ({
  Id: randomUUID(),
  Status: 'OK',
  ProviderName: 'Switchboard emulator',
  DateTimeUTC: msDate(Date.now()),
  ...extra,
});

const list = (v: string | null): string[] | null =>
  v === null
    ? null
    : v
        .split(',')
        .map((s) => s.trim().toLowerCase())
        .filter(Boolean);

/** If-Modified-Since: ISO without a zone is UTC (Xero's documented form); RFC 1123 dates too. */
function modifiedSince(req: EmulatorRequest): number | null | 'bad' {
  const v = req.headers['if-modified-since'];
  if (typeof v !== 'string' || v.trim() === '') return null;
  const t = v.trim();
  const ms = Date.parse(/^\d{4}-\d{2}-\d{2}T[\d:.]+$/.test(t) ? `${t}Z` : t);
  return Number.isNaN(ms) ? 'bad' : Math.floor(ms / 1000) * 1000;
}

interface Paging {
  page: number | null;
  pageSize: number;
}
function paging(req: EmulatorRequest): Paging | string {
  const p = req.query.get('page');
  const s = req.query.get('pageSize');
  if (p !== null && !/^\d+$/.test(p)) return `page must be a positive integer`;
  if (s !== null && !/^\d+$/.test(s)) return `pageSize must be a positive integer`;
  const page = p === null ? null : Math.max(1, Number(p));
  const pageSize = s === null ? 100 : Math.min(MAX_PAGE_SIZE, Math.max(1, Number(s)));
  return { page, pageSize };
}

function order<T extends { updatedMs: number }>(req: EmulatorRequest, items: T[]): T[] | string {
  const o = req.query.get('order');
  if (o === null) return items;
  const m = /^\s*UpdatedDateUTC(?:\s+(ASC|DESC))?\s*$/i.exec(o);
  if (!m) return `order: only UpdatedDateUTC [ASC|DESC] is supported by the emulator (got ${o})`;
  const sorted = [...items].sort((a, b) => a.updatedMs - b.updatedMs);
  return (m[1] ?? 'ASC').toUpperCase() === 'DESC' ? sorted.reverse() : sorted;
}

function page<T>(items: T[], p: Paging): { items: T[]; pagination?: Record<string, number> } {
  if (p.page === null) return { items };
  const start = (p.page - 1) * p.pageSize;
  return {
    items: items.slice(start, start + p.pageSize),
    pagination: { page: p.page, pageSize: p.pageSize, pageCount: Math.ceil(items.length / p.pageSize), itemCount: items.length },
  };
}

export function accountingRoutes(store: XeroStore, orgOf: (req: EmulatorRequest) => OrgRecord | EmulatorReply): EmulatorRoute[] {
  const withOrg =
    (handler: (req: EmulatorRequest, org: OrgRecord) => EmulatorReply) =>
    (req: EmulatorRequest): EmulatorReply => {
      const org = orgOf(req);
      return 'status' in org ? org : handler(req, org);
    };

  const contacts = withOrg((req, org) => {
    const p = paging(req);
    if (typeof p === 'string') return badRequest(p);
    const since = modifiedSince(req);
    if (since === 'bad') return badRequest('If-Modified-Since is not a date');
    const ids = list(req.query.get('IDs'));
    const archived = req.query.get('includeArchived') === 'true';
    const term = req.query.get('searchTerm')?.toLowerCase() ?? null;
    let items: ContactRecord[] = [...org.contacts.values()].filter(
      (c) =>
        (ids === null || ids.includes(c.ContactID.toLowerCase())) &&
        (archived || c.ContactStatus !== 'ARCHIVED') &&
        (since === null || c.updatedMs >= since) &&
        (term === null || [c.Name, c.FirstName, c.LastName, c.ContactNumber, c.EmailAddress].some((f) => f?.toLowerCase().includes(term))),
    );
    const ordered = order(req, items);
    if (typeof ordered === 'string') return badRequest(ordered);
    items = ordered;
    const { items: shown, pagination } = page(items, p);
    return jsonText(200, envelope({ ...(pagination ? { pagination } : {}), Contacts: shown.map((c) => store.contactJson(c)) }));
  });

  const invoices = withOrg((req, org) => {
    const p = paging(req);
    if (typeof p === 'string') return badRequest(p);
    const since = modifiedSince(req);
    if (since === 'bad') return badRequest('If-Modified-Since is not a date');
    const ids = list(req.query.get('IDs'));
    const contactIds = list(req.query.get('ContactIDs'));
    const statuses = list(req.query.get('Statuses'))?.map((s) => s.toUpperCase()) ?? null;
    const where = req.query.get('where');
    let type: string | null = null;
    if (where !== null) {
      const m = /^\s*Type\s*==\s*"(ACCREC|ACCPAY)"\s*$/.exec(where);
      if (!m) return badRequest(`where: the emulator understands only Type=="ACCREC" or Type=="ACCPAY" (got ${where})`);
      type = m[1]!;
    }
    let items: InvoiceRecord[] = [...org.invoices.values()].filter(
      (i) =>
        (ids === null || ids.includes(i.InvoiceID.toLowerCase())) &&
        (contactIds === null || contactIds.includes(i.ContactID.toLowerCase())) &&
        (statuses === null || statuses.includes(i.Status)) &&
        (type === null || i.Type === type) &&
        (since === null || i.updatedMs >= since),
    );
    const ordered = order(req, items);
    if (typeof ordered === 'string') return badRequest(ordered);
    items = ordered;
    const { items: shown, pagination } = page(items, p);
    // Unpaged lists are summaries without line items; paged ones carry them.
    return jsonText(200, envelope({ ...(pagination ? { pagination } : {}), Invoices: shown.map((i) => store.invoiceJson(org, i, p.page !== null)) }));
  });

  const one =
    <T>(find: (org: OrgRecord, id: string) => T | undefined, render: (org: OrgRecord, t: T) => Record<string, unknown>) =>
    (req: EmulatorRequest, org: OrgRecord): EmulatorReply => {
      const found = find(org, (req.params.id ?? '').toLowerCase());
      return found === undefined ? notFound() : jsonText(200, envelope(render(org, found)));
    };

  return [
    { method: 'GET', path: `${API}/Contacts`, operation: 'contacts.list', handler: contacts },
    {
      method: 'GET',
      path: `${API}/Contacts/:id`,
      operation: 'contacts.get',
      handler: withOrg(
        one(
          (org, id) => org.contacts.get(id),
          (_org, c) => ({ Contacts: [store.contactJson(c)] }),
        ),
      ),
    },
    { method: 'GET', path: `${API}/Invoices`, operation: 'invoices.list', handler: invoices },
    {
      method: 'GET',
      path: `${API}/Invoices/:id`,
      operation: 'invoices.get',
      handler: withOrg(
        one(
          (org, id) => org.invoices.get(id) ?? [...org.invoices.values()].find((i) => i.InvoiceNumber.toLowerCase() === id),
          (org, i) => ({ Invoices: [store.invoiceJson(org, i, true)] }),
        ),
      ),
    },
    {
      method: 'GET',
      path: `${API}/Organisation`,
      operation: 'organisation.get',
      handler: withOrg((_req, org) =>
        jsonText(
          200,
          envelope({
            Organisations: [
              {
                OrganisationID: org.tenantId,
                Name: org.name,
                LegalName: org.name,
                ShortCode: org.shortCode,
                BaseCurrency: org.baseCurrency,
                CountryCode: org.countryCode,
                OrganisationType: 'COMPANY',
                OrganisationStatus: 'ACTIVE',
                IsDemoCompany: false,
                Version: org.countryCode === 'US' ? 'US' : 'UK',
              },
            ],
          }),
        ),
      ),
    },
  ];
}

export { forbidden };
