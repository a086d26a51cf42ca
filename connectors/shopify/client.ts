// Talking to the GraphQL Admin API through ctx.fetch: the `X-Shopify-Access-Token` header (Shopify
// does not take a Bearer token), Shopify's answers mapped to ConnectorError, and the cost-based
// leaky bucket. The bucket itself is the gateway's shared budget (manifest.rateLimits.costBucket):
// every query declares its requested cost and how to read extensions.cost.throttleStatus from the
// answer (costReport), and the budget waits for the refill before sending and after a THROTTLED
// answer, across every replica. The client only remembers the last reported level per connection
// to size list pages (pageThatFits) so that a page goes out without a long wait.
import { ConnectorError, codeForStatus, parseRetryAfter } from '../sdk/errors.ts';
import type { ConnectorContext, CostReport, UpstreamResponse } from '../sdk/types.ts';
import { GRAPHQL_PATH, MAX_QUERY_COST } from './queries.ts';

export const ACCESS_TOKEN_HEADER = 'x-shopify-access-token';
/** Longest wait for the bucket a list page accepts before pageThatFits asks for a smaller page. */
export const MAX_THROTTLE_WAIT_MS = 2_000;

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}
export interface QueryCost {
  requestedQueryCost: number;
  actualQueryCost: number | null;
  throttleStatus: ThrottleStatus;
}

interface GraphqlError {
  message?: string;
  extensions?: { code?: string; [k: string]: unknown };
}

export interface ShopifyQuery {
  query: string;
  variables?: Record<string, unknown>;
  /** Metric label, e.g. "orders.list". */
  operation: string;
  /** The requested cost this query will be charged (queries.ts), so the bucket can be planned. */
  cost: number;
}

/** Last reported bucket per connection, with when it was seen. */
const buckets = new Map<string, ThrottleStatus & { at: number }>();

/** Points the bucket of `connectionId` should hold now, by the last report and the restore rate. */
export function estimatedAvailable(connectionId: string, now = Date.now()): number | null {
  const b = buckets.get(connectionId);
  if (!b) return null;
  return Math.min(b.maximumAvailable, b.currentlyAvailable + ((now - b.at) / 1000) * b.restoreRate);
}

/** Milliseconds until a bucket holding `available` of `status` has room for `cost`. */
export function refillWaitMs(cost: number, available: number, restoreRate: number): number {
  if (available >= cost) return 0;
  return Math.ceil(((cost - available) / Math.max(restoreRate, 1)) * 1000);
}

/**
 * How many records of `recordCost` a connection page should ask for now: `wanted`, or fewer when
 * the bucket (as last reported) cannot hold a full page within MAX_THROTTLE_WAIT_MS. A smaller page
 * goes out at once and hasNextPage carries the rest, instead of failing UPSTREAM_RATE_LIMITED.
 */
export function pageThatFits(connectionId: string, wanted: number, recordCost: number): number {
  const available = estimatedAvailable(connectionId);
  const restoreRate = buckets.get(connectionId)?.restoreRate ?? 0;
  // Waiting for room for the full page is fine when it is short (shopifyGraphql waits).
  if (available === null || refillWaitMs(2 + wanted * recordCost, available, restoreRate) <= MAX_THROTTLE_WAIT_MS) return wanted;
  return Math.max(1, Math.min(wanted, Math.floor((available - 2) / recordCost)));
}

/** Forgets every remembered bucket (tests). */
export function forgetBuckets(): void {
  buckets.clear();
}

const maskToken = (text: string, token: string) => (token.length >= 8 ? text.split(token).join(`${token.slice(0, 6)}****`) : text);

function rateLimited(message: string, retryAfterMs: number): ConnectorError {
  return new ConnectorError('UPSTREAM_RATE_LIMITED', message, { retryAfterMs, upstreamStatus: 200 });
}

/** Non-2xx answers: Shopify's REST-style `{"errors": "…"}` bodies. */
function httpError(res: UpstreamResponse): ConnectorError {
  const errors = (res.body as { errors?: unknown } | null)?.errors;
  const detail = typeof errors === 'string' ? errors : `HTTP ${res.status}`;
  // 402 (shop frozen for payment) and 423 (shop locked) shut the whole shop, like a refusal.
  const code = res.status === 402 || res.status === 423 ? 'UPSTREAM_FORBIDDEN' : codeForStatus(res.status);
  return new ConnectorError(code, `Shopify answered ${res.status}: ${detail.slice(0, 300)}`, {
    upstreamStatus: res.status,
    upstreamRequestId: res.headers.get('x-request-id'),
    retryAfterMs: parseRetryAfter(res.headers.get('retry-after')),
  });
}

function readCost(body: Record<string, unknown>): QueryCost | null {
  const cost = (body['extensions'] as { cost?: QueryCost } | undefined)?.cost;
  const t = cost?.throttleStatus;
  if (!cost || !t || typeof t.currentlyAvailable !== 'number' || typeof t.restoreRate !== 'number') return null;
  return cost;
}

/** The cost an answer reports, for the gateway's shared cost bucket (manifest.rateLimits.costBucket). */
export function costReport(response: UpstreamResponse): CostReport | null {
  const body = response.body;
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return null;
  const cost = readCost(body as Record<string, unknown>);
  if (!cost) return null;
  const t = cost.throttleStatus;
  return {
    actual: typeof cost.actualQueryCost === 'number' ? cost.actualQueryCost : null,
    available: t.currentlyAvailable,
    capacity: typeof t.maximumAvailable === 'number' ? t.maximumAvailable : null,
    restorePerSecond: t.restoreRate,
    throttled: isThrottled(body as Record<string, unknown>),
  };
}

const errorsOf = (body: Record<string, unknown>): GraphqlError[] => (Array.isArray(body['errors']) ? (body['errors'] as GraphqlError[]) : []);
const isThrottled = (body: Record<string, unknown>) => errorsOf(body).some((e) => e.extensions?.code === 'THROTTLED');

/**
 * One GraphQL query; resolves with `data` or throws ConnectorError. The request carries its
 * requested cost: the gateway's shared budget waits for the bucket before sending it and, when
 * Shopify still answers THROTTLED, waits for the refill and sends it again. A THROTTLED answer
 * that reaches here is one the budget gave up on: UPSTREAM_RATE_LIMITED with the refill time.
 */
export async function shopifyGraphql<T>(ctx: ConnectorContext, q: ShopifyQuery): Promise<T> {
  if (q.cost > MAX_QUERY_COST)
    throw new ConnectorError('MAPPING_FAILED', `${q.operation} would cost ${q.cost} points; Shopify refuses more than ${MAX_QUERY_COST}`, { retryable: false });
  const { body, cost } = await send(ctx, q);
  const errors = errorsOf(body);
  if (isThrottled(body)) {
    const t = cost?.throttleStatus;
    const wait = t ? refillWaitMs(cost.requestedQueryCost, t.currentlyAvailable, t.restoreRate) : MAX_THROTTLE_WAIT_MS;
    throw rateLimited(
      `Shopify throttled ${q.operation} (requested ${cost?.requestedQueryCost ?? '?'} points, ${t?.currentlyAvailable ?? '?'} available)`,
      wait,
    );
  }
  return dataOf<T>(body, errors, q.operation);
}

async function send(ctx: ConnectorContext, q: ShopifyQuery): Promise<{ body: Record<string, unknown>; cost: QueryCost | null }> {
  const token = await ctx.accessToken();
  let res: UpstreamResponse;
  try {
    res = await ctx.fetch({
      method: 'POST',
      path: GRAPHQL_PATH,
      json: { query: q.query, variables: q.variables ?? {} },
      headers: { [ACCESS_TOKEN_HEADER]: token, accept: 'application/json' },
      operation: q.operation,
      // Queries only read: safe to retry.
      idempotent: true,
      cost: { requested: q.cost, report: costReport },
    });
  } catch (err) {
    if (err instanceof ConnectorError) throw err.message.includes(token) ? new ConnectorError(err.code, maskToken(err.message, token), err) : err;
    throw new ConnectorError('UPSTREAM_UNAVAILABLE', `request to Shopify failed: ${maskToken(String((err as Error)?.message ?? err), token)}`, { cause: err });
  }
  if (res.status < 200 || res.status >= 300) throw httpError(res);
  if (res.body === null || typeof res.body !== 'object' || Array.isArray(res.body)) {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Shopify answered ${res.status} without a JSON object`, { upstreamStatus: res.status, retryable: false });
  }
  const body = res.body as Record<string, unknown>;
  const cost = readCost(body);
  // Remembered only to size list pages (pageThatFits); the shared budget does the waiting.
  if (cost) buckets.set(ctx.connection.id, { ...cost.throttleStatus, at: Date.now() });
  return { body, cost };
}

function dataOf<T>(body: Record<string, unknown>, errors: GraphqlError[], operation: string): T {
  const data = body['data'];
  if (errors.length > 0) {
    const first = errors[0] as GraphqlError;
    const code = first.extensions?.code;
    const message = `Shopify refused ${operation}: ${String(first.message ?? 'unknown error').slice(0, 300)}${code ? ` (${code})` : ''}`;
    if (code === 'ACCESS_DENIED') throw new ConnectorError('UPSTREAM_FORBIDDEN', message, { upstreamStatus: 200 });
    if (code === 'INTERNAL_SERVER_ERROR') throw new ConnectorError('UPSTREAM_UNAVAILABLE', message, { upstreamStatus: 200 });
    // Our own query was refused (MAX_COST_EXCEEDED, a syntax or schema error): retrying cannot help.
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', message, { upstreamStatus: 200, retryable: false });
  }
  if (data === null || typeof data !== 'object')
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `Shopify answered ${operation} without data`, { retryable: false });
  return data as T;
}
