// Talking to a WooCommerce store through ctx.fetch: the store URL checked before any key leaves,
// the REST keys as HTTP Basic, WordPress's WP_Error bodies mapped to the closed code set, and the
// page/per_page lists with their X-WP-Total / X-WP-TotalPages / Link headers.
import { ConnectorError, codeForStatus, parseRetryAfter, type ConnectorErrorCode } from '../sdk/errors.ts';
import type { ConnectorContext, QueryValue, UpstreamResponse } from '../sdk/types.ts';
import { CALL_POLICY, storeAddressCheck, storeLiteralProblem, storeUrlProblem } from './store-url.ts';

/** WordPress REST caps per_page at 100 for every collection (rest_invalid_param above it). */
export const MAX_PER_PAGE = 100;
export const API_PREFIX = '/wp-json/wc/v3';

/** A WP_Error as the REST API serializes it. */
export interface WpError {
  code?: string;
  message?: string;
  data?: { status?: number; params?: Record<string, string> } | null;
}

/** WP_Error codes whose meaning differs from their HTTP status. */
const CODE_OVERRIDES: Record<string, ConnectorErrorCode> = {
  // A parameter we sent was refused: our bug or an older store, never fixed by retrying.
  rest_invalid_param: 'UPSTREAM_BAD_RESPONSE',
  // No such route: WooCommerce inactive, the wrong store URL, or plain permalinks.
  rest_no_route: 'UPSTREAM_BAD_RESPONSE',
};

/** Strips anything key-shaped from text a store returned before it reaches a client. */
export function maskKeys(text: string): string {
  return text.replace(/\b(ck|cs)_[0-9a-f]{6,}/gi, (m) => `${m.slice(0, 3)}****`);
}

export function errorFromResponse(res: UpstreamResponse): ConnectorError {
  const body = (res.body && typeof res.body === 'object' ? res.body : null) as WpError | null;
  const wpCode = typeof body?.code === 'string' ? body.code : null;
  let code = (wpCode && CODE_OVERRIDES[wpCode]) || codeForStatus(res.status);
  // A 404 with WordPress's "no route" is the store's setup, not a missing record.
  if (res.status === 404 && wpCode === null) code = 'UPSTREAM_BAD_RESPONSE';
  const detail = body?.message
    ? maskKeys(
        String(body.message)
          .replace(/<[^>]+>/g, '')
          .trim(),
      )
    : `HTTP ${res.status}`;
  const hint =
    wpCode === 'rest_no_route'
      ? ' (is WooCommerce active at this store URL, with pretty permalinks on?)'
      : wpCode === 'woocommerce_rest_authentication_error'
        ? ' (check the consumer key and secret under WooCommerce › Settings › Advanced › REST API)'
        : '';
  return new ConnectorError(code, `WooCommerce answered ${res.status}${wpCode ? ` ${wpCode}` : ''}: ${detail}${hint}`, {
    upstreamStatus: res.status,
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
    ...(code === 'UPSTREAM_BAD_RESPONSE' ? { retryable: false } : {}),
  });
}

export interface WooPage<T> {
  items: T[];
  /** X-WP-Total, when the store sent it. */
  total: number | null;
  totalPages: number | null;
  /** Link: <…>; rel="next" was present. */
  hasNextLink: boolean;
}

/** The rel="next" target of an RFC 8288 Link header, or null. */
export function nextLink(header: string | null): string | null {
  if (!header) return null;
  for (const part of header.split(/,(?=\s*<)/)) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel="?([^";]*\s)?next(\s[^";]*)?"?/i.test(m[2] ?? '')) return m[1] ?? null;
  }
  return null;
}

function intHeader(res: UpstreamResponse, name: string): number | null {
  const v = res.headers.get(name);
  return v !== null && /^\d+$/.test(v.trim()) ? Number(v) : null;
}

/** GET a collection under /wp-json/wc/v3; resolves with the array and the paging headers. */
export async function wooList<T>(ctx: ConnectorContext, resource: string, query: Record<string, QueryValue>, operation: string): Promise<WooPage<T>> {
  const res = await wooGet(ctx, `${API_PREFIX}/${resource}`, query, operation);
  if (!Array.isArray(res.body)) {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `WooCommerce ${operation} answered ${res.status} without a JSON array`, {
      upstreamStatus: res.status,
      retryable: false,
    });
  }
  return {
    items: res.body as T[],
    total: intHeader(res, 'x-wp-total'),
    totalPages: intHeader(res, 'x-wp-totalpages'),
    hasNextLink: nextLink(res.headers.get('link')) !== null,
  };
}

async function wooGet(ctx: ConnectorContext, path: string, query: Record<string, QueryValue>, operation: string): Promise<UpstreamResponse> {
  const production = ctx.production === true;
  const problem = storeUrlProblem(ctx.connection.baseUrl, CALL_POLICY) ?? storeLiteralProblem(ctx.connection.baseUrl, production);
  if (problem) throw new ConnectorError('UPSTREAM_FORBIDDEN', `connection ${ctx.connection.id}: ${problem}`, { retryable: false });
  // The gateway's basic credential is base64("ck_…:cs_…"), ready for the header.
  const token = await ctx.accessToken();
  const res = await ctx.fetch({
    method: 'GET',
    path,
    query,
    headers: { authorization: `Basic ${token}`, accept: 'application/json' },
    operation,
    // In production the socket connects only to public addresses of the store host (DNS rebinding).
    ...(production ? { addressCheck: storeAddressCheck } : {}),
  });
  if (res.status >= 200 && res.status < 300) return res;
  throw errorFromResponse(res);
}

/** Splits distinct ids into include= chunks of at most MAX_PER_PAGE. */
export function chunks<T>(items: readonly T[], size = MAX_PER_PAGE): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export const isWooId = (id: string): boolean => /^[1-9]\d{0,18}$/.test(id);
