// One structured log line per HTTP request, the request id, the HTTP metrics and (when tracing is
// on) the request's server span — wrapped around the route table so no handler has to remember.
// The line carries the route template (/webhooks/:connector/:connectionId), never the raw path or
// its query string (connect callbacks carry OAuth codes and state there). docs/operations.md
// documents every field.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from 'pino';
import type { Metrics } from './metrics.ts';
import { SpanKind, SpanStatusCode, type Span, type Tracing } from './tracing.ts';

/** What handlers and plugins learn about a request after it started (tenant, GraphQL operation). */
export interface RequestInfo {
  requestId: string;
  tenantId?: string;
  operationType?: string;
  operationName?: string;
  /** extensions.code of each error in a GraphQL answer. */
  errorCodes?: string[];
}

/**
 * Each request carries its info in a symbol-keyed property rather than a WeakMap entry (an
 * ephemeron for the collector to trace, for every webhook). Other objects (a GraphQL context's
 * signal) are linked to it through the WeakMap.
 */
const INFO = Symbol('switchboard.requestInfo');
type WithInfo = { [INFO]?: RequestInfo };
const infos = new WeakMap<object, RequestInfo>();

/** The request's info (for the request itself, or for its GraphQL context once linked). */
export function requestInfo(key: object): RequestInfo | undefined {
  return (key as WithInfo)[INFO] ?? infos.get(key);
}

/** Makes the request's info reachable from its GraphQL context (Apollo plugins see only the context). */
export function linkRequestInfo(req: IncomingMessage, other: object, tenantId: string): void {
  const info = (req as WithInfo)[INFO];
  if (!info) return;
  info.tenantId = tenantId;
  if (other !== req) infos.set(other, info);
}

/** An `x-request-id` we accept from a proxy or client; anything else is replaced by our own. */
const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The request's id: the caller's `x-request-id` when acceptable, else a new UUID (HTTP requests and WebSocket upgrades alike). */
export function requestIdOf(req: IncomingMessage): string {
  const given = req.headers['x-request-id'];
  return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
}

const EXACT_ROUTES = new Set(['/', '/graphql', '/graphiql', '/healthz', '/readyz', '/metrics']);
/** Probes and scrapes: logged at debug, they would drown the rest at info. */
const QUIET_ROUTES = new Set(['/healthz', '/readyz', '/metrics']);

/** The route template of a path: ids and connector names become parameters. */
export function routeTemplate(pathname: string): string {
  if (EXACT_ROUTES.has(pathname)) return pathname;
  if (/^\/connect\/[^/]+\/callback\/?$/.test(pathname)) return '/connect/:connector/callback';
  if (/^\/connect\/[^/]+\/?$/.test(pathname)) return '/connect/:connector';
  if (/^\/webhooks\/[^/]+\/[^/]+\/?$/.test(pathname)) return '/webhooks/:connector/:connectionId';
  if (/^\/webhooks\/[^/]+\/?$/.test(pathname)) return '/webhooks/:connector';
  return 'unmatched';
}

export interface RequestLogDeps {
  log: Logger;
  metrics: Metrics;
  tracing: Tracing;
  /** The client's address (behind trusted proxies, the one they forwarded); logged as clientAddress. */
  clientAddress?: (req: IncomingMessage) => string | undefined;
}

/**
 * A handler behind the request log, given the request target parsed once for both: `null` when no
 * URL parser accepts it (`GET //`, `GET http://[`), which Node's HTTP parser lets through.
 */
export type RoutedListener = (req: IncomingMessage, res: ServerResponse, url: URL | null) => void;

function endSpan(span: Span, status: number, info: RequestInfo): void {
  span.setAttribute('http.response.status_code', status);
  if (info.tenantId) span.setAttribute('switchboard.tenant_id', info.tenantId);
  if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
  span.end();
}

export function withRequestLog(
  listener: RoutedListener,
  { log, metrics, tracing, clientAddress }: RequestLogDeps,
): (req: IncomingMessage, res: ServerResponse) => void {
  // One histogram child per (route, method, status class): observing through it skips building and
  // validating the label object per request (prom-client still hashes it: 0.69 -> 0.40 us measured).
  const children = new Map<string, ReturnType<Metrics['httpRequests']['labels']>>();
  const observeRequest = (route: string, method: string, status: number, seconds: number) => {
    const statusClass = `${Math.floor(status / 100)}xx`;
    const key = `${route} ${method} ${statusClass}`;
    let child = children.get(key);
    if (!child) children.set(key, (child = metrics.httpRequests.labels({ route, method, status_class: statusClass })));
    child.observe(seconds);
  };
  return (req, res) => {
    const started = performance.now();
    const requestId = requestIdOf(req);
    const info: RequestInfo = { requestId };
    (req as WithInfo)[INFO] = info;
    res.setHeader('x-request-id', requestId);
    const method = req.method ?? 'GET';
    let url: URL | null = null;
    try {
      url = new URL(req.url ?? '/', 'http://localhost');
    } catch {
      // answered 400 by the route table; logged as unmatched
    }
    const route = url ? routeTemplate(url.pathname) : 'unmatched';
    const address = clientAddress?.(req);
    const span = tracing.enabled ? tracing.startSpan(`${method} ${route}`, { 'http.request.method': method, 'http.route': route }, SpanKind.SERVER) : null;

    // 'close' is emitted once per response: `on`, without once()'s wrapper per request.
    res.on('close', () => {
      const status = res.statusCode;
      const durationMs = Math.round((performance.now() - started) * 10) / 10;
      observeRequest(route, method, status, durationMs / 1000);
      // The line is built only when its level is logged (at thousands of webhooks a second the
      // level is often warn, and a 2xx line is then never written).
      const level = status >= 500 ? 'error' : status >= 400 ? 'warn' : QUIET_ROUTES.has(route) ? 'debug' : 'info';
      if (!log.isLevelEnabled(level)) {
        if (span) endSpan(span, status, info);
        return;
      }
      const line = {
        requestId,
        method,
        route,
        status,
        durationMs,
        ...(address ? { clientAddress: address } : {}),
        ...(info.tenantId ? { tenantId: info.tenantId } : {}),
        ...(info.operationType ? { operation: { type: info.operationType, name: info.operationName ?? null } } : {}),
        ...(info.errorCodes?.length ? { errorCodes: info.errorCodes } : {}),
        ...(res.writableFinished ? {} : { aborted: true }),
      };
      if (status >= 500) log.error(line, 'request failed');
      else if (status >= 400) log.warn(line, 'request refused');
      else if (QUIET_ROUTES.has(route)) log.debug(line, 'request');
      else log.info(line, 'request');
      if (span) endSpan(span, status, info);
    });

    if (!span) return listener(req, res, url);
    // Everything the request does (the GraphQL operation, upstream calls, the queue write) runs
    // under its span; the operation slot lets the Apollo plugin's span parent the upstream calls.
    tracing.withSpanContext(span, () => tracing.withOperationSlot(() => listener(req, res, url)));
  };
}
