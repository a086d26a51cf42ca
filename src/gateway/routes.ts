// The gateway's HTTP routes as one table: path → handler, then the two prefixed families
// (/connect/<connector>[/callback], /webhooks/…). Handlers answer; nothing here builds services.
import { clientAddress, TRUST_NO_PROXY } from '../inbound/client-address.ts';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { HeaderMap, type ApolloServer } from '@apollo/server';
import type { GraphQLSchema } from 'graphql';
import type { Authenticate } from '../callers/authenticate.ts';
import type { Principal } from '../callers/tenants.ts';
import type { PendingStore } from '../cache/response-cache.ts';
import type { HttpAnswer } from '../accounts/connect/flow.ts';
import type { KvStore } from '../cache/store.ts';
import { RequestContext, type GatewayServices } from '../context.ts';
import { toPublicError } from '../errors.ts';
import { handleWebhook } from '../events/webhook-route.ts';
import { GRAPHIQL_CSP, graphiqlPage } from '../inbound/graphiql.ts';
import { COST_HEADER } from '../limits/cost-plugin.ts';
import { checkHttpDocument } from '../limits/document-limits.ts';
import type { TenantAdmission } from '../limits/fairness.ts';
import { limitsFor } from '../limits/tenant-limits.ts';
import { ClientGone, publicBaseOf, readBody, sendJson as sendJsonWith } from '../inbound/respond.ts';
import type { Metrics } from '../observability/metrics.ts';
import { metricsHandler, OPEN_ON_MAIN_PORT, servedOnMainPort } from '../observability/metrics-endpoint.ts';
import { linkRequestInfo, type RoutedListener } from '../observability/request-log.ts';
import { runs } from './roles.ts';

export interface RouteDeps {
  services: GatewayServices;
  apollo: ApolloServer<RequestContext>;
  authenticate: Authenticate;
  metrics: Metrics;
  kv: KvStore;
  /** Set by the gateway's stop(): /readyz answers 503 from the first moment of a drain. */
  lifecycle?: { draining: boolean };
  /** Per-tenant request rate and concurrency (429 above them). */
  admission: TenantAdmission;
  schema: GraphQLSchema;
}

type Handler = (req: IncomingMessage, res: ServerResponse, url: URL) => Promise<void> | void;

const CORS_HEADERS: Record<string, string> = {
  // Credentials are bearer tokens, never cookies, so any origin may call (Apollo Sandbox's embed
  // runs on its own origin).
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name, x-switchboard-cost',
};

const CONNECT_PATH = /^\/connect\/([a-z][a-z0-9-]{1,31})(\/callback)?\/?$/;

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonWith(res, status, body, CORS_HEADERS);
}

/** The node:http request listener: CORS preflight, the route table, and a 500 for anything that escapes a handler. */
export function createRequestListener(deps: RouteDeps): RoutedListener {
  const { services, metrics, kv } = deps;
  const { config, log } = services;
  const renderGraphiql = graphiqlPage({ endpoint: '/graphql', apiKey: config.demoApiKey });
  const routes: Record<string, Handler> = {
    '/graphql': graphqlHandler(deps),
    // Liveness: answers while the process serves, whatever Redis does.
    '/healthz': (_req, res) => sendJson(res, 200, { status: 'ok' }),
    // Readiness: whether a proxy should send this replica traffic, and if not, why.
    '/readyz': async (_req, res) => {
      const reasons: string[] = [];
      if (deps.lifecycle?.draining) reasons.push('draining: the replica is shutting down');
      const redis = kv.kind === 'memory' ? 'none' : (await kv.ping(config.limits.readinessPingTimeoutMs)) ? 'up' : 'unreachable';
      if (redis === 'unreachable') reasons.push(`redis: no answer to PING within ${config.limits.readinessPingTimeoutMs} ms`);
      if (reasons.length) return sendJson(res, 503, { status: 'not ready', reasons, redis });
      sendJson(res, 200, kv.kind === 'memory' ? { status: 'ready', cache: 'memory' } : { status: 'ready', redis });
    },
    // Only where enabled (the demo, SWITCHBOARD_GRAPHIQL): the page is ~9 MB.
    '/graphiql': (req, res) => {
      if (!config.graphiql) return sendJson(res, 404, { error: `no route for ${req.method} /graphiql` });
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': GRAPHIQL_CSP });
      res.end(renderGraphiql());
    },
    '/': (_req, res) => {
      res.writeHead(302, { location: '/graphql' });
      res.end();
    },
  };
  // A process without the api role (SWITCHBOARD_ROLES) serves no GraphQL over HTTP, GraphiQL or connect flow.
  const api = runs(config.roles, 'api');
  const webhooks = runs(config.roles, 'webhooks');
  if (!api) for (const path of ['/graphql', '/graphiql', '/']) delete routes[path];
  // Only where the config says: else /metrics is a 404 here (its own port, or not served).
  const exposure = config.metrics ?? OPEN_ON_MAIN_PORT;
  if (servedOnMainPort(exposure)) routes['/metrics'] = metricsHandler(metrics, exposure.token);
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
    if (api && connectMatch && (method === 'GET' || (method === 'POST' && !connectMatch[2])))
      return connect(req, res, url, connectMatch[1] as string, Boolean(connectMatch[2]));
    if (webhooks && url.pathname.startsWith('/webhooks/')) return handleWebhook(req, res, url, services, services.events);
    sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
  };

  return (req, res, url) => {
    // Parsing it threw before: one `GET //` stopped the process.
    if (!url) return sendJson(res, 400, { error: 'the request target is not a valid URL', code: 'BAD_REQUEST' });
    route(req, res, url).catch((err: unknown) => {
      // A client gone mid-body is no failure here: its request line says `aborted: true` (this was an error line).
      if (err instanceof ClientGone) return void res.destroy();
      log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  };
}

/** GraphQL over HTTP through Apollo, with the body limit, a per-request context and the client's disconnect as abort. */
function graphqlHandler({ services, apollo, authenticate, admission, schema }: RouteDeps): Handler {
  const { config, responseCache } = services;
  return async (req, res, url) => {
    // Read per request: limits may be changed on a running gateway (tests shorten the deadline).
    const { maxBodyBytes, requestDeadlineMs } = config.limits;
    let body: unknown;
    let caller: { principal?: Principal; error?: unknown } | null = null;
    let pending: PendingStore | null = null;
    let admitted = false;
    /** The tenant's rate and concurrency (429), once per request: its slot is held until the answer is sent. */
    const admit = async (principal: Principal) => {
      const release = await admission.admit(principal.tenant.id, limitsFor(config, principal.tenant.id));
      res.once('close', release);
      admitted = true;
    };
    if (req.method === 'POST') {
      const raw = await readBody(req, maxBodyBytes);
      if (raw === null)
        return sendJson(res, 413, { errors: [{ message: `request body exceeds ${maxBodyBytes} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] });
      const type = req.headers['content-type'] ?? '';
      if (type.includes('json') && responseCache.enabled) {
        // Authenticate once, here: the key depends on who asks, and Apollo's context reuses the outcome.
        caller = await authenticate(req.headers.authorization, { address: clientAddress(req, config.trustedProxies ?? TRUST_NO_PROXY) }).then(
          (principal) => ({ principal }),
          (error: unknown) => ({ error }),
        );
        const principal = caller.principal;
        // A client asking for the cost report needs this execution's numbers.
        const who =
          principal && !principal.tenant.runtimeConnectionsUnreadable && req.headers[COST_HEADER] === undefined
            ? { tenantId: principal.tenant.id, scopes: principal.scopes, connections: principal.tenant.connections }
            : null;
        // The cache is read while the tenant is admitted (their round trips to Redis at once); what
        // a refused request read is dropped, uncounted. A tenant refused within the last 5 s is
        // admitted first: a flood's refusals then cost no cache read. The read never rejects (a
        // store failure is a read without generations); the catch only keeps a bug from going unhandled.
        const readCache = () => (who ? responseCache.find(responseCache.keyFor(who, req.headers.accept, raw), who).catch(() => null) : null);
        const early = principal && !admission.refusedRecently(principal.tenant.id) ? readCache() : null;
        if (principal) {
          // Admitted here, once: a stored answer counts against the tenant's rate like any other.
          try {
            await admit(principal);
          } catch (error) {
            caller = { error };
          }
        }
        const read = admitted ? await (early ?? readCache()) : null;
        if (who && read) {
          responseCache.counted(read);
          if (read.answer) {
            linkRequestInfo(req, req, who.tenantId);
            res.writeHead(200, { 'content-type': read.answer.contentType, 'x-response-cache': 'HIT', ...CORS_HEADERS });
            res.end(read.answer.body);
            return;
          }
          pending = read.pending;
        }
      }
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

    let rc: RequestContext | undefined;
    const abort = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) abort.abort(new Error('client closed the connection'));
    });
    const result = await apollo.executeHTTPGraphQLRequest({
      httpGraphQLRequest: { method: (req.method ?? 'GET').toUpperCase(), headers, search: url.search, body },
      context: async () => {
        if (caller?.error !== undefined) throw caller.error;
        const principal =
          caller?.principal ?? (await authenticate(req.headers.authorization, { address: clientAddress(req, config.trustedProxies ?? TRUST_NO_PROXY) }));
        if (!admitted) await admit(principal);
        // Size, tokens, aliases, directives and introspection scope, before Apollo parses the document.
        const query = req.method === 'POST' ? (body as { query?: unknown } | undefined)?.query : url.searchParams.get('query');
        checkHttpDocument(schema, config, principal.tenant.id, principal.scopes, query);
        const context = new RequestContext(services, principal, abort.signal, Date.now() + requestDeadlineMs);
        // Its cache writes wait until the answer is out (or the client is gone).
        res.once('close', () => context.markAnswered());
        rc = context;
        // Keyed by the request's signal: Apollo hands plugins a shallow copy of the context, which keeps it.
        linkRequestInfo(req, rc.signal, rc.tenant.id);
        rc.publicBase = publicBaseOf(req, config.publicUrl);
        return rc;
      },
    });
    const outHeaders: Record<string, string> = Object.fromEntries(result.headers);
    const entities = rc?.responseCache.entities;
    if (pending && entities && (result.status ?? 200) === 200 && result.body.kind === 'complete') {
      responseCache.save(pending, entities, result.body.string, outHeaders['content-type'] ?? 'application/json; charset=utf-8');
      outHeaders['x-response-cache'] = 'MISS';
    }
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
