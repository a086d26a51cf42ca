// The gateway's HTTP routes as one table: path → handler, then the two prefixed families
// (/connect/<connector>[/callback], /webhooks/…). Handlers answer; nothing here builds services.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { Authenticate } from '../callers/authenticate.ts';
import type { HttpAnswer } from '../accounts/connect/flow.ts';
import type { KvStore } from '../cache/store.ts';
import { RequestContext, type GatewayServices } from '../context.ts';
import { toPublicError } from '../errors.ts';
import { handleWebhook } from '../events/webhook-route.ts';
import { graphiqlPage } from '../inbound/graphiql.ts';
import { publicBaseOf, readBody, sendJson as sendJsonWith } from '../inbound/respond.ts';
import type { Metrics } from '../observability/metrics.ts';

export interface RouteDeps {
  services: GatewayServices;
  apollo: ApolloServer<RequestContext>;
  authenticate: Authenticate;
  metrics: Metrics;
  kv: KvStore;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const CORS_HEADERS: Record<string, string> = {
  // Credentials are bearer tokens, never cookies, so any origin may call (Apollo Sandbox's embed
  // runs on its own origin).
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name',
};

const CONNECT_PATH = /^\/connect\/([a-z][a-z0-9-]{1,31})(\/callback)?\/?$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonWith(res, status, body, CORS_HEADERS);
}

/** The node:http request listener: CORS preflight, the route table, and a 500 for anything that escapes a handler. */
export function createRequestListener(deps: RouteDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const { services, metrics, kv } = deps;
  const { config, log } = services;
  const renderGraphiql = graphiqlPage({ endpoint: '/graphql', apiKey: config.demoApiKey });
  const routes: Record<string, Handler> = {
    '/graphql': graphqlHandler(deps),
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    '/readyz': async (_req, res) => {
      if (kv.kind === 'memory') return sendJson(res, 200, { status: 'ready', cache: 'memory' });
      const up = await kv.ping(config.limits.readinessPingTimeoutMs);
      sendJson(res, up ? 200 : 503, { status: up ? 'ready' : 'not ready', redis: up ? 'up' : 'unreachable' });
    },
    '/metrics': async (_req, res) => {
      const text = await metrics.registry.metrics();
      res.writeHead(200, { 'content-type': metrics.registry.contentType });
      res.end(text);
    },
    '/graphiql': (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
      res.end(renderGraphiql());
    },
    '/': (_req, res) => {
      res.writeHead(302, { location: '/graphql' });
      res.end();
    },
  };
  const connect = connectHandler(services);

  const route = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    if (req.method === 'OPTIONS') {
      res.writeHead(204, { ...CORS_HEADERS, 'access-control-max-age': '600' });
      return res.end();
    }
    const exact = routes[url.pathname];
    if (exact) return exact(req, res, url);
    const method = req.method ?? 'GET';
    const connectMatch = CONNECT_PATH.exec(url.pathname);
    if (connectMatch && (method === 'GET' || (method === 'POST' && !connectMatch[2])))
      return connect(req, res, url, connectMatch[1] as string, Boolean(connectMatch[2]));
    if (url.pathname.startsWith('/webhooks/')) return handleWebhook(req, res, url, services, services.events);
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  };

  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    route(req, res, url).catch((err: unknown) => {
      log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  };
}

/** GraphQL over HTTP through Apollo, with the body limit, a per-request context and the client's disconnect as abort. */
function graphqlHandler({ services, apollo, authenticate }: RouteDeps): Handler {
  const { config } = services;
  return async (req, res, url) => {
    // Read per request: limits may be changed on a running gateway (tests shorten the deadline).
    const { maxBodyBytes, requestDeadlineMs } = config.limits;
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, maxBodyBytes);
      if (raw === null)
        return sendJson(res, 413, { errors: [{ message: `request body exceeds ${maxBodyBytes} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] });
      const type = req.headers['content-type'] ?? '';
      if (type.includes('json')) {
        try {
          body = raw.length ? JSON.parse(raw.toString('utf8')) : undefined;
        } catch {
          return sendJson(res, 400, { errors: [{ message: 'request body is not valid JSON', extensions: { code: 'BAD_REQUEST' } }] });
        }
      } else body = raw.toString('utf8');
    }
    const headers = new HeaderMap();
    for (const [k, v] of Object.entries(req.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);

    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
    });
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
      context: async () => {
        const rc = new RequestContext(
          services,
          await authenticate(req.headers.authorization, { address: req.socket.remoteAddress }),
          abort.signal,
          Date.now() + requestDeadlineMs,
        );
        rc.publicBase = publicBaseOf(req, config.publicUrl);
        return rc;
      },
    });
    const outHeaders: Record<string, string> = Object.fromEntries(result.headers);
    if (result.status === 401) outHeaders['www-authenticate'] = 'Bearer realm="switchboard"';
    res.writeHead(result.status ?? 200, { ...outHeaders, ...CORS_HEADERS });
    if (result.body.kind === 'complete') res.end(result.body.string);
    else {
      for await (const chunk of result.body.asyncIterator) res.write(chunk);
      res.end();
    }
  };
}

/** GET /connect/<connector> (confirmation page), its POST (start), and GET …/callback. */
function connectHandler(services: GatewayServices) {
  const { config, log, connect: flow } = services;
  return async (req: IncomingMessage, res: ServerResponse, url: URL, connector: string, isCallback: boolean): Promise<void> => {
    let answer: HttpAnswer;
    try {
      if (isCallback) answer = await flow.callback(connector, url, req.headers.cookie);
      else if (req.method === 'GET') answer = await flow.confirmPage(connector, url);
      else {
        const raw = await readBody(req, config.limits.connectFormMaxBytes);
        if (raw === null) return sendJson(res, 413, { error: `the confirmation form is larger than ${config.limits.connectFormMaxBytes} bytes` });
        answer = await flow.confirmAndStart(connector, url, new URLSearchParams(raw.toString('utf8')), req.headers.cookie, publicBaseOf(req, config.publicUrl));
      }
    } catch (err) {
      // A store outage, or a lock held too long by a refresh: retryable, not a server fault.
      if (toPublicError(err).extensions.code !== 'SERVICE_UNAVAILABLE') throw err;
      log.warn({ connector, err: (err as Error).name }, 'connect flow: store unreachable');
      answer = {
        status: 503,
        headers: { 'retry-after': '5' },
        body: { error: 'temporarily unavailable; start the connection again in a moment', code: 'SERVICE_UNAVAILABLE' },
      };
    }
    sendAnswer(res, answer);
  };
}

/** Connect-flow answers: redirects and JSON, never cached. */
function sendAnswer(res: ServerResponse, answer: HttpAnswer): void {
  if (answer.body === undefined || typeof answer.body === 'string') {
    res.writeHead(answer.status, { 'cache-control': 'no-store', ...answer.headers });
    res.end(answer.body);
    return;
  }
  sendJsonWith(res, answer.status, answer.body, { 'cache-control': 'no-store', ...answer.headers });
}
