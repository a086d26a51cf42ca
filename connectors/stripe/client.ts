// Talking to Stripe through ctx.fetch: auth and version headers, Stripe's error envelope mapped to
// ConnectorError (secrets masked), list unwrapping, and the bounded fan-out that stands in for
// the batch read Stripe does not have.
import { ConnectorError, codeForStatus, parseRetryAfter } from '../sdk/errors.ts';
import type { ConnectorContext, QueryValue, UpstreamResponse } from '../sdk/types.ts';
import type { StripeList } from './mappers.ts';

/** Pinned so response shapes do not change with the account's default version. */
export const STRIPE_API_VERSION = '2026-10-28.endive';

export interface StripeRequest {
  path: string;
  query?: Record<string, QueryValue>;
  /** Metric label: `customers.get`, `invoices.list`, ... */
  operation: string;
}

/** Anything that looks like a Stripe secret, restricted, publishable key or webhook secret. */
const KEY_PATTERN = /\b((?:sk|rk|pk)_(?:test|live)_|whsec_)([A-Za-z0-9]{4,})/g;

/** Replaces keys in `text` (and the exact credential in use) with a masked form. */
export function maskSecrets(text: string, secrets: readonly string[] = []): string {
  let out = text;
  for (const s of secrets) if (s.length >= 8) out = out.split(s).join(`${s.slice(0, s.indexOf('_', 3) + 1 || 0)}****`);
  return out.replace(KEY_PATTERN, (_m, prefix: string, rest: string) => `${prefix}****${rest.length > 12 ? rest.slice(-4) : ''}`);
}

interface StripeErrorBody {
  error?: { type?: string; code?: string; message?: string; param?: string };
}

/** Stripe's answer → ConnectorError. 400 with code rate_limit is Stripe's other way of saying 429. */
export function errorFromResponse(res: UpstreamResponse, secrets: readonly string[] = []): ConnectorError {
  const err = (res.body as StripeErrorBody | null)?.error;
  const rateLimited = res.status === 429 || (res.status === 400 && err?.code === 'rate_limit');
  const code = rateLimited ? 'UPSTREAM_RATE_LIMITED' : codeForStatus(res.status);
  const detail = typeof err?.message === 'string' ? maskSecrets(err.message, secrets) : `HTTP ${res.status}`;
  const shouldRetry = res.headers.get('stripe-should-retry');
  return new ConnectorError(code, `Stripe answered ${res.status}: ${detail}`, {
    upstreamStatus: res.status,
    upstreamRequestId: res.headers.get('request-id'),
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
    ...(shouldRetry === 'true' || shouldRetry === 'false' ? { retryable: shouldRetry === 'true' } : {}),
  });
}

/** Is this Stripe's "No such <object>" for a parameter (not for the path id)? */
export function isMissingParam(err: unknown, param: string): boolean {
  return err instanceof StripeCallError && err.stripeCode === 'resource_missing' && err.param === param;
}

/** A ConnectorError that remembers Stripe's own code and param, for the few cases that need them. */
export class StripeCallError extends ConnectorError {
  constructor(
    base: ConnectorError,
    readonly stripeCode: string | null,
    readonly param: string | null,
  ) {
    super(base.code, base.message, {
      retryable: base.retryable,
      retryAfterMs: base.retryAfterMs,
      upstreamStatus: base.upstreamStatus,
      upstreamRequestId: base.upstreamRequestId,
    });
  }
}

/** GET with the connection's credentials; resolves with the parsed JSON object or throws ConnectorError. */
export async function stripeGet<T>(ctx: ConnectorContext, request: StripeRequest): Promise<T> {
  const token = await ctx.accessToken();
  const headers: Record<string, string> = { authorization: `Bearer ${token}`, 'stripe-version': STRIPE_API_VERSION };
  // Connect platforms act on a connected account with their own key + Stripe-Account.
  const account = ctx.connection.settings['stripeAccount'];
  if (typeof account === 'string' && account.startsWith('acct_')) headers['stripe-account'] = account;

  let res: UpstreamResponse;
  try {
    res = await ctx.fetch({ method: 'GET', path: request.path, query: request.query, headers, operation: request.operation });
  } catch (err) {
    if (err instanceof ConnectorError) {
      if (!err.message.includes(token)) throw err;
      throw new ConnectorError(err.code, maskSecrets(err.message, [token]), err);
    }
    throw new ConnectorError('UPSTREAM_UNAVAILABLE', `request to Stripe failed: ${maskSecrets(String((err as Error)?.message ?? err), [token])}`, {
      cause: err,
    });
  }
  if (res.status >= 200 && res.status < 300) {
    if (res.body === null || typeof res.body !== 'object' || Array.isArray(res.body)) {
      throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Stripe answered ${res.status} without a JSON object`, {
        upstreamStatus: res.status,
        upstreamRequestId: res.headers.get('request-id'),
        retryable: false,
      });
    }
    return res.body as T;
  }
  const error = (res.body as StripeErrorBody | null)?.error;
  throw new StripeCallError(errorFromResponse(res, [token]), error?.code ?? null, error?.param ?? null);
}

/** Checks the list envelope so a broken body fails as UPSTREAM_BAD_RESPONSE, not as a TypeError. */
export function expectList<T>(body: unknown, what: string): StripeList<T> {
  const list = body as StripeList<T>;
  if (list?.object !== 'list' || !Array.isArray(list.data) || typeof list.has_more !== 'boolean') {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Stripe ${what} answer is not a list object`, { retryable: false });
  }
  return list;
}

export function toConnectorError(err: unknown): ConnectorError {
  if (err instanceof ConnectorError) return err;
  return new ConnectorError('MAPPING_FAILED', `unexpected failure: ${(err as Error)?.message ?? String(err)}`, { retryable: false, cause: err });
}

/** Runs `fn` over `items` with at most `limit` in flight; results in input order. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T, i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

/** Failures that will hit every other id the same way: stop sending and reuse the error. */
const SHORT_CIRCUIT = new Set(['UPSTREAM_UNAUTHORIZED', 'UPSTREAM_FORBIDDEN', 'UPSTREAM_RATE_LIMITED']);

/**
 * Stripe's stand-in for a batch read: one GET per distinct id, at most `concurrency` in flight.
 * Each slot gets its model or its own ConnectorError (404 → UPSTREAM_NOT_FOUND); nothing throws
 * for an upstream failure. After a 401/403/429 (already retried by ctx.fetch) the remaining ids
 * are not requested and share that error, so a bad key costs `concurrency` calls, not n.
 */
export async function fanOutByIds<M>(ids: readonly string[], concurrency: number, fetchOne: (id: string) => Promise<M>): Promise<Array<M | ConnectorError>> {
  const distinct = [...new Set(ids)];
  const results = new Map<string, M | ConnectorError>();
  let stop: ConnectorError | null = null;
  await mapBounded(distinct, concurrency, async (id) => {
    if (stop) return void results.set(id, stop);
    if (id === '' || id.includes('/')) {
      return void results.set(id, new ConnectorError('UPSTREAM_NOT_FOUND', `Stripe has no object with id ${JSON.stringify(id)}`, { retryable: false }));
    }
    try {
      results.set(id, await fetchOne(id));
    } catch (err) {
      const error = toConnectorError(err);
      if (SHORT_CIRCUIT.has(error.code)) stop ??= error;
      results.set(id, error);
    }
  });
  return ids.map((id) => results.get(id) as M | ConnectorError);
}

/**
 * Reads a whole sub-list (invoice lines, checkout line items), 100 per call: continues after the
 * embedded first page when given, otherwise starts from the beginning.
 */
export async function fetchRemaining<T extends { id?: string }>(
  ctx: ConnectorContext,
  embedded: StripeList<T> | null,
  path: string,
  operation: string,
): Promise<T[]> {
  const items = embedded ? [...embedded.data] : [];
  let hasMore = embedded ? embedded.has_more : true;
  while (hasMore) {
    const last = items.at(-1)?.id;
    if (embedded && !last) break;
    const query: Record<string, QueryValue> = { limit: 100, starting_after: last };
    const page = expectList<T>(await stripeGet(ctx, { path, query, operation }), operation);
    items.push(...page.data);
    hasMore = page.has_more && page.data.length > 0;
  }
  return items;
}
