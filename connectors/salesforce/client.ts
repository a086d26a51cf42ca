// Talking to a Salesforce org through ctx.fetch: the REST API under /services/data/vNN.N, its
// errors array mapped to the closed code set, SOQL queries followed through nextRecordsUrl, and
// sObject Collections reads. The connection's base URL is the org's instance_url.
import { ConnectorError, codeForStatus, type ConnectorErrorCode } from '../sdk/errors.ts';
import type { ConnectorContext, QueryValue, UpstreamResponse } from '../sdk/types.ts';

/** The REST API version the connector speaks (Spring '26). */
export const API_VERSION = 'v66.0';
export const API_PREFIX = `/services/data/${API_VERSION}`;
/** The most records one query batch holds (Salesforce may return fewer). */
export const QUERY_BATCH_MAX = 2000;
/** Ids per sObject Collections GET: 18-char ids keep the URL far below the ~16 kB URI limit. */
export const COLLECTION_IDS_MAX = 200;

/** One element of Salesforce's error array. */
export interface SalesforceError {
  message?: string;
  errorCode?: string;
  fields?: string[];
}

/** Error codes whose meaning differs from their HTTP status. */
const CODE_OVERRIDES: Record<string, ConnectorErrorCode> = {
  // 403, but the org's daily API allocation is spent: a rate limit, not a permission problem.
  REQUEST_LIMIT_EXCEEDED: 'UPSTREAM_RATE_LIMITED',
  // A query or field we sent was refused: our bug or an org without the field; retrying cannot help.
  MALFORMED_QUERY: 'UPSTREAM_BAD_RESPONSE',
  INVALID_FIELD: 'UPSTREAM_BAD_RESPONSE',
  INVALID_TYPE: 'UPSTREAM_BAD_RESPONSE',
  MALFORMED_ID: 'UPSTREAM_BAD_RESPONSE',
  INVALID_QUERY_LOCATOR: 'UPSTREAM_BAD_RESPONSE',
  API_DISABLED_FOR_ORG: 'UPSTREAM_FORBIDDEN',
  INVALID_SESSION_ID: 'UPSTREAM_UNAUTHORIZED',
};

/** The first error of Salesforce's array body (or of an OAuth {error, error_description} body). */
export function firstError(body: unknown): SalesforceError | null {
  if (Array.isArray(body)) {
    const first = body[0] as unknown;
    return first && typeof first === 'object' ? (first as SalesforceError) : null;
  }
  if (body && typeof body === 'object') {
    const o = body as Record<string, unknown>;
    if (typeof o['error'] === 'string')
      return { errorCode: o['error'], message: typeof o['error_description'] === 'string' ? o['error_description'] : undefined };
  }
  return null;
}

/** Strips anything token-shaped (`00D…!…` session ids) before a message reaches a client. */
export function maskTokens(text: string): string {
  return text.replace(/\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+/g, '00D****');
}

export function errorFromResponse(res: UpstreamResponse, operation: string): ConnectorError {
  const first = firstError(res.body);
  const sfCode = typeof first?.errorCode === 'string' ? first.errorCode : null;
  const code = (sfCode && CODE_OVERRIDES[sfCode]) || codeForStatus(res.status);
  const detail = first?.message ? maskTokens(String(first.message)).slice(0, 300) : `HTTP ${res.status}`;
  return new ConnectorError(code, `Salesforce ${operation} answered ${res.status}${sfCode ? ` ${sfCode}` : ''}: ${detail}`, {
    upstreamStatus: res.status,
    // REQUEST_LIMIT_EXCEEDED has no Retry-After: the rolling 24 h allocation frees up slowly.
    retryable: code === 'UPSTREAM_RATE_LIMITED' ? sfCode !== 'REQUEST_LIMIT_EXCEEDED' : undefined,
    upstreamRequestId: res.headers.get('x-request-id') ?? res.headers.get('sforce-request-id'),
    ...(code === 'UPSTREAM_BAD_RESPONSE' ? { retryable: false } : {}),
  });
}

/** GET under the connection's instance; answers the 2xx response or throws the mapped error. */
export async function sfGet(ctx: ConnectorContext, path: string, query: Record<string, QueryValue> | undefined, operation: string): Promise<UpstreamResponse> {
  const res = await ctx.fetch({ method: 'GET', path, query, headers: { accept: 'application/json' }, operation });
  if (res.status >= 200 && res.status < 300) return res;
  throw errorFromResponse(res, operation);
}

export interface QueryResult<T> {
  totalSize: number;
  done: boolean;
  nextRecordsUrl?: string;
  records: T[];
}

function asQueryResult<T>(res: UpstreamResponse, operation: string): QueryResult<T> {
  const body = res.body as QueryResult<T> | null;
  if (!body || typeof body !== 'object' || !Array.isArray(body.records) || typeof body.done !== 'boolean') {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Salesforce ${operation} answered ${res.status} without a query result`, {
      upstreamStatus: res.status,
      retryable: false,
    });
  }
  return body;
}

/**
 * Runs a SOQL query (`/query`, or `/queryAll` to include deleted records) and follows
 * nextRecordsUrl until `want` records arrived or the result is done. Answers the records and
 * whether Salesforce holds more beyond them.
 */
export async function soqlQuery<T>(
  ctx: ConnectorContext,
  soql: string,
  operation: string,
  options: { want?: number; all?: boolean } = {},
): Promise<{ records: T[]; more: boolean }> {
  const want = options.want ?? Number.POSITIVE_INFINITY;
  let result = asQueryResult<T>(await sfGet(ctx, `${API_PREFIX}/${options.all ? 'queryAll' : 'query'}`, { q: soql }, operation), operation);
  const records = [...result.records];
  while (!result.done && records.length < want) {
    const next = result.nextRecordsUrl;
    if (!next || !next.startsWith(`${API_PREFIX}/query`))
      throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Salesforce ${operation}: done is false without a nextRecordsUrl of this API`, { retryable: false });
    result = asQueryResult<T>(await sfGet(ctx, next, undefined, `${operation}.more`), operation);
    records.push(...result.records);
  }
  return { records: records.slice(0, want === Number.POSITIVE_INFINITY ? undefined : want), more: records.length > want || !result.done };
}

/** sObject Collections GET: one slot per id, aligned with `ids`; null where the record is missing or inaccessible. */
export async function collectionsGet<T>(
  ctx: ConnectorContext,
  type: string,
  ids: readonly string[],
  fields: readonly string[],
  operation: string,
): Promise<Array<T | null>> {
  const res = await sfGet(ctx, `${API_PREFIX}/composite/sobjects/${type}`, { ids: ids.join(','), fields: fields.join(',') }, operation);
  if (!Array.isArray(res.body) || res.body.length !== ids.length) {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Salesforce ${operation} answered ${res.status} without one element per id`, {
      upstreamStatus: res.status,
      retryable: false,
    });
  }
  return res.body as Array<T | null>;
}

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}
