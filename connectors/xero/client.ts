// Talking to Xero's Accounting API through ctx.fetch: every call names its organisation in the
// `xero-tenant-id` header (one grant may reach several), asks for JSON (XML is Xero's default),
// maps Xero's three error shapes (400 ValidationException bodies, 401/403 problem documents, 404
// plain text) onto the closed code set, and reads the rate-limit headers: X-MinLimit-Remaining,
// X-DayLimit-Remaining and X-AppMinLimit-Remaining on every answer, Retry-After and
// X-Rate-Limit-Problem (minute | day | concurrent | appminute) on a 429.
import { ConnectorError, codeForStatus, parseRetryAfter } from '../sdk/errors.ts';
import type { ConnectorContext, QueryValue, UpstreamResponse } from '../sdk/types.ts';

/** The Accounting API under the connection's base URL (https://api.xero.com). */
export const ACCOUNTING = 'api.xro/2.0';
/** The connection setting holding the organisation's tenant id (sent as xero-tenant-id). */
export const TENANT_SETTING = 'xeroTenantId';
export const TENANT_HEADER = 'xero-tenant-id';
/** Ids per `IDs=` filter: Xero's practical URL-length bound is ~52 GUIDs; 50 keeps a margin. */
export const MAX_IDS = 50;
/** Xero's default page size, and the largest it accepts (pageSize above 1000 is capped). */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1000;
/** Below this many calls left in a window the connector logs a warning (the budget already paces). */
const LOW_REMAINING = 5;

export const RATE_HEADERS = {
  minute: 'x-minlimit-remaining',
  day: 'x-daylimit-remaining',
  appMinute: 'x-appminlimit-remaining',
  problem: 'x-rate-limit-problem',
} as const;

/** What Xero says about the remaining allowance, when it says it. */
export interface RateRemaining {
  minute: number | null;
  day: number | null;
  appMinute: number | null;
}

const int = (v: string | null): number | null => (v !== null && /^\d+$/.test(v.trim()) ? Number(v) : null);

export function rateRemaining(headers: Headers): RateRemaining {
  return {
    minute: int(headers.get(RATE_HEADERS.minute)),
    day: int(headers.get(RATE_HEADERS.day)),
    appMinute: int(headers.get(RATE_HEADERS.appMinute)),
  };
}

const PROBLEM_TEXT: Record<string, string> = {
  minute: "the organisation's 60 calls per minute",
  day: "the organisation's daily call allowance",
  concurrent: "the organisation's 5 concurrent calls",
  appminute: "the app's calls per minute across all organisations",
};

interface XeroErrorBody {
  ErrorNumber?: number;
  Type?: string | null;
  Message?: string;
  Title?: string;
  Detail?: string;
  Elements?: Array<{ ValidationErrors?: Array<{ Message?: string }> }>;
}

export function errorFromResponse(res: UpstreamResponse): ConnectorError {
  const body = (res.body && typeof res.body === 'object' ? res.body : null) as XeroErrorBody | null;
  const code = codeForStatus(res.status);
  const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
  if (res.status === 429) {
    const problem = (res.headers.get(RATE_HEADERS.problem) ?? '').trim().toLowerCase();
    const what = PROBLEM_TEXT[problem] ?? 'a Xero rate limit';
    // A day's allowance comes back tomorrow: not worth retrying within a request.
    return new ConnectorError(
      'UPSTREAM_RATE_LIMITED',
      `Xero refused the call: ${what} is used up${retryAfterMs !== null ? `; retry in ${Math.ceil(retryAfterMs / 1000)} s` : ''}`,
      {
        upstreamStatus: 429,
        retryAfterMs,
        retryable: problem !== 'day',
      },
    );
  }
  const validation =
    body?.Elements?.flatMap((e) => e.ValidationErrors ?? [])
      .map((v) => v.Message)
      .filter(Boolean) ?? [];
  const detail =
    body?.Detail ?? body?.Message ?? body?.Title ?? (typeof res.body === 'string' ? res.body : null) ?? (res.text && res.text.length < 200 ? res.text : null);
  const hint =
    res.status === 403
      ? ' (is the organisation still connected to the app, and the xero-tenant-id right? Reconnect it if it was disconnected in Xero)'
      : res.status === 401
        ? ' (the access token is invalid or expired)'
        : '';
  const message = `Xero answered ${res.status}${body?.Type ? ` ${body.Type}` : ''}: ${String(detail ?? `HTTP ${res.status}`).slice(0, 200)}${validation.length ? ` — ${validation.join('; ')}` : ''}${hint}`;
  return new ConnectorError(code, message, {
    upstreamStatus: res.status,
    retryAfterMs,
    upstreamRequestId: typeof (body as { Instance?: unknown } | null)?.Instance === 'string' ? (body as { Instance: string }).Instance : null,
    ...(code === 'UPSTREAM_BAD_RESPONSE' ? { retryable: false } : {}),
  });
}

/** The connection's organisation; a connection without one was not made by the connect flow. */
export function tenantOf(ctx: ConnectorContext): string {
  const tenant = ctx.connection.settings[TENANT_SETTING];
  if (typeof tenant !== 'string' || tenant === '')
    throw new ConnectorError('UPSTREAM_FORBIDDEN', `connection ${ctx.connection.id} names no Xero organisation (settings.${TENANT_SETTING}); reconnect it`, {
      retryable: false,
    });
  return tenant;
}

export interface XeroGet {
  path: string;
  query?: Record<string, QueryValue>;
  operation: string;
  /** If-Modified-Since: records changed at or after this ISO instant. */
  modifiedSince?: string | null;
  /** Calls outside one organisation (GET /connections) send no tenant header. */
  tenant?: string | null;
}

/** GET under the connection's base URL; resolves with the parsed body of a 2xx, else throws. */
export async function xeroGet<T>(ctx: ConnectorContext, request: XeroGet): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  const tenant = request.tenant === undefined ? tenantOf(ctx) : request.tenant;
  if (tenant) headers[TENANT_HEADER] = tenant;
  if (request.modifiedSince) headers['if-modified-since'] = ifModifiedSince(request.modifiedSince);
  const res = await ctx.fetch({ method: 'GET', path: request.path, query: request.query, headers, operation: request.operation });
  const remaining = rateRemaining(res.headers);
  const low = Object.entries(remaining).filter(([, v]) => v !== null && v < LOW_REMAINING);
  // ctx.log already names the connector and the connection.
  if (low.length) ctx.log.warn({ remaining }, 'Xero rate allowance nearly used up');
  if (res.status === 304) return null as T;
  if (res.status >= 200 && res.status < 300) {
    if (!res.body || typeof res.body !== 'object')
      throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Xero ${request.operation} answered ${res.status} without a JSON body (did it fall back to XML?)`, {
        upstreamStatus: res.status,
        retryable: false,
      });
    return res.body as T;
  }
  throw errorFromResponse(res);
}

/**
 * The If-Modified-Since value, ISO-8601 UTC as the official xero-node SDK sends it: to the second,
 * rounded down so a record changed
 * at `since` itself is included (Xero compares whole seconds of UpdatedDateUTC).
 */
export function ifModifiedSince(since: string): string {
  const ms = Date.parse(since);
  if (Number.isNaN(ms)) throw new TypeError(`filter.updatedSince is not an ISO-8601 instant: ${since}`);
  return new Date(Math.floor(ms / 1000) * 1000).toISOString();
}

export const isGuid = (id: string): boolean => /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(id);

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
