// Talking to the QuickBooks Online Accounting API through ctx.fetch: the company (realmId) from
// the connection's settings, `minorversion` pinned on every call, the query language with every
// value escaped, queries POSTed as application/text (an IN list of 1000 ids does not fit a URL),
// and the Fault envelope (either casing) mapped to the closed code set.
import { ConnectorError, codeForStatus, parseRetryAfter, type ConnectorErrorCode } from '../sdk/errors.ts';
import type { ConnectorContext, UpstreamResponse } from '../sdk/types.ts';
import type { QboEntityName, QboFaultError } from './qbo-types.ts';
import { REALM_SETTING } from './webhooks.ts';

/** Minor versions below 75 are no longer served (since 2025-08-01): pinned, never defaulted. */
export const MINOR_VERSION = '75';
/** The query endpoint answers at most 1000 rows (MAXRESULTS ≤ 1000); without MAXRESULTS, 100. */
export const MAX_RESULTS = 1000;
/** QuickBooks' throttle answer carries no Retry-After; Intuit says to wait 60 seconds. */
export const THROTTLE_WAIT_MS = 60_000;

export const isQboId = (id: string): boolean => /^\d{1,20}$/.test(id);
export const isRealmId = (id: string): boolean => /^\d{1,20}$/.test(id);

/** A string literal of the query language: single quotes, with `\` and `'` escaped by a backslash. */
export function quote(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** An instant for a MetaData.LastUpdatedTime comparison: ISO-8601 with an explicit offset, whole seconds. */
export function queryInstant(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`filter.updatedSince is not an ISO-8601 instant: ${iso}`);
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}-00:00`;
}

export function realmOf(ctx: ConnectorContext): string {
  const realm = ctx.connection.settings[REALM_SETTING];
  if (typeof realm !== 'string' || !isRealmId(realm)) {
    throw new ConnectorError('UPSTREAM_FORBIDDEN', `connection ${ctx.connection.id} has no QuickBooks company id (settings.${REALM_SETTING}); reconnect it`, {
      retryable: false,
    });
  }
  return realm;
}

interface FaultEnvelope {
  Fault?: { Error?: QboFaultError[]; type?: string };
  fault?: { error?: Array<{ message?: string; detail?: string; code?: string }>; type?: string };
}

/** The first Error of a Fault in either casing, or null. */
export function faultOf(body: unknown): { type: string | null; code: string | null; message: string | null; detail: string | null } | null {
  if (!body || typeof body !== 'object') return null;
  const env = body as FaultEnvelope;
  if (env.Fault) {
    const e = env.Fault.Error?.[0];
    return { type: env.Fault.type ?? null, code: e?.code ?? null, message: e?.Message ?? null, detail: e?.Detail ?? null };
  }
  if (env.fault) {
    const e = env.fault.error?.[0];
    return { type: env.fault.type ?? null, code: e?.code ?? null, message: e?.message ?? null, detail: e?.detail ?? null };
  }
  return null;
}

/** Fault codes whose meaning differs from the HTTP status they come with. */
function codeForFault(status: number, f: NonNullable<ReturnType<typeof faultOf>>): ConnectorErrorCode {
  const code = (f.code ?? '').replace(/^0+/, '');
  if (code === '610') return 'UPSTREAM_NOT_FOUND';
  if (code === '3200' || f.type === 'AUTHENTICATION' || f.type === 'AuthenticationFault') return 'UPSTREAM_UNAUTHORIZED';
  if (code === '3100' || f.type === 'AuthorizationFault') return 'UPSTREAM_FORBIDDEN';
  if (code === '3001' || f.type === 'ThrottleExceeded') return 'UPSTREAM_RATE_LIMITED';
  if (f.type === 'SystemFault' && status < 500) return 'UPSTREAM_UNAVAILABLE';
  return codeForStatus(status);
}

export function errorFromResponse(res: UpstreamResponse, operation: string): ConnectorError {
  const f = faultOf(res.body);
  const code = f ? codeForFault(res.status, f) : codeForStatus(res.status);
  const what = f ? `${f.type ?? 'Fault'}${f.code ? ` ${f.code}` : ''}: ${[f.message, f.detail].filter(Boolean).join(' — ')}` : `HTTP ${res.status}`;
  const hint =
    f?.code === '4000' || f?.code === '4001'
      ? ' (the connector built a query QuickBooks refused: a bug to report)'
      : code === 'UPSTREAM_FORBIDDEN'
        ? ' (the token is not authorized for this company, or the app lacks the com.intuit.quickbooks.accounting scope)'
        : '';
  return new ConnectorError(code, `QuickBooks ${operation} answered ${res.status} ${what}${hint}`.slice(0, 600), {
    upstreamStatus: res.status,
    upstreamRequestId: res.headers.get('intuit_tid'),
    retryAfterMs:
      code === 'UPSTREAM_RATE_LIMITED'
        ? (parseRetryAfter(res.headers.get('retry-after')) ?? THROTTLE_WAIT_MS)
        : parseRetryAfter(res.headers.get('retry-after')),
    ...(code === 'UPSTREAM_BAD_RESPONSE' || code === 'UPSTREAM_NOT_FOUND' ? { retryable: false } : {}),
  });
}

/** GET a path under /v3/company/{realmId}, JSON, minorversion pinned. */
export async function qboGet(ctx: ConnectorContext, path: string, operation: string): Promise<UpstreamResponse> {
  const realm = realmOf(ctx);
  return check(await ctx.fetch({ method: 'GET', path: `/v3/company/${realm}${path}`, query: { minorversion: MINOR_VERSION }, operation }), operation);
}

function check(res: UpstreamResponse, operation: string): UpstreamResponse {
  // A Fault may come with 200 (batch items, some validation answers).
  if (res.status >= 200 && res.status < 300 && !faultOf(res.body)) return res;
  throw errorFromResponse(res, operation);
}

/** Runs one query; the rows of `entity` (an absent key means none). */
export async function qboQuery<T>(ctx: ConnectorContext, entity: QboEntityName, query: string, operation: string): Promise<T[]> {
  const realm = realmOf(ctx);
  const res = check(
    await ctx.fetch({
      method: 'POST',
      path: `/v3/company/${realm}/query`,
      query: { minorversion: MINOR_VERSION },
      text: { contentType: 'application/text', body: query },
      operation,
      // The query endpoint only reads.
      idempotent: true,
    }),
    operation,
  );
  const qr = (res.body as { QueryResponse?: Record<string, unknown> } | null)?.QueryResponse;
  if (!qr || typeof qr !== 'object')
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `QuickBooks ${operation} answered without a QueryResponse`, { retryable: false });
  const rows = qr[entity];
  if (rows === undefined) return [];
  if (!Array.isArray(rows))
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `QuickBooks ${operation}: QueryResponse.${entity} is not an array`, { retryable: false });
  return rows as T[];
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
