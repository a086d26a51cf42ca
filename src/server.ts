// Composition root: builds every service from the config and wires them to one node:http server
// (GraphQL over HTTP, graphql-ws on the same path, health, metrics, GraphiQL). No logic of its own.
// Plain node:http rather than Express: on these 2-core machines Apollo Server 5 on node:http (with
// graphql-ws attached) answered ~11.8k req/s for { hello }, behind Express 5 ~5k (issue #2's
// measurement); routing five fixed paths needs no framework.
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ApolloServer, HeaderMap, type ApolloServerPlugin } from '@apollo/server';
import { ApolloServerPluginCacheControlDisabled } from '@apollo/server/plugin/disabled';
import { ApolloServerPluginLandingPageLocalDefault } from '@apollo/server/plugin/landingPage/default';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { GraphQLError, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { connectorMap } from '../connectors/registry.ts';
import type { Connector } from '../connectors/sdk/types.ts';
import { ConfigCredentialStore, type CredentialStore } from './auth/credentials.ts';
import { JwtVerifier, looksLikeJwt } from './auth/jwt.ts';
import { TenantDirectory, type Tenant } from './auth/tenants.ts';
import { EntityCache } from './cache/entity-cache.ts';
import { createKvStore, type KvStore } from './cache/store.ts';
import { ConfigError, type GatewayConfig } from './config.ts';
import { RequestContext, type GatewayServices } from './context.ts';
import { formatError, unauthenticated } from './errors.ts';
import { graphiqlPage, EXAMPLE_QUERY } from './http/graphiql.ts';
import { readBody, sendJson as sendJsonWith } from './http/respond.ts';
import { UpstreamClient } from './http/upstream.ts';
import { createLogger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { eventResolvers } from './resolvers/events.ts';
import { resolvers } from './resolvers/index.ts';
import { EventPipeline } from './events/pipeline.ts';
import { sharedSubscribe } from './events/shared-execution.ts';
import { handleWebhook } from './events/webhook-route.ts';

export interface Gateway {
  url: string;
  port: number;
  metrics: Metrics;
  services: GatewayServices;
  stop(): Promise<void>;
}

export interface GatewayOptions {
  /** Connectors by id; defaults to the registry. */
  connectors?: ReadonlyMap<string, Connector>;
  credentials?: CredentialStore;
  logger?: Logger;
}

const SCHEMA_DIR = fileURLToPath(new URL('../schema/', import.meta.url));

export function loadTypeDefs(): string {
  return readdirSync(SCHEMA_DIR)
    .filter((f) => f.endsWith('.graphql'))
    .sort((a, b) => (a === 'common.graphql' ? -1 : b === 'common.graphql' ? 1 : a.localeCompare(b)))
    .map((f) => readFileSync(SCHEMA_DIR + f, 'utf8'))
    .join('\n');
}

export function buildSchema(): GraphQLSchema {
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: [resolvers, eventResolvers] as never });
}

/** Extracts the API key from "Bearer <key>" (case-insensitive scheme). */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

function validateStartup(config: GatewayConfig, connectors: ReadonlyMap<string, Connector>, env: NodeJS.ProcessEnv): void {
  const problems: string[] = [];
  for (const t of config.tenants) {
    for (const c of t.connections) {
      if (!connectors.has(c.provider)) problems.push(`tenant ${t.id}, connection ${c.id}: unknown provider "${c.provider}" (known: ${[...connectors.keys()].join(', ')})`);
      if (c.credentials.type === 'env' && !env[c.credentials.variable]) problems.push(`tenant ${t.id}, connection ${c.id}: environment variable ${c.credentials.variable} is not set`);
    }
  }
  if (problems.length) throw new ConfigError(`configuration is invalid:\n  ${problems.join('\n  ')}`);
}

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const connectors = options.connectors ?? connectorMap();
  validateStartup(config, connectors, process.env);
  const log = options.logger ?? createLogger(config.logLevel);
  const metrics = new Metrics({ defaultMetrics: config.mode !== 'test' });

  const kv: KvStore = await createKvStore({
    redisUrl: config.redisUrl,
    namespace: `${config.keyPrefix}:cache`,
    onError: (err) => log.warn({ err: String(err) }, 'cache store error (answers fall back to the providers)'),
  });
  const cache = new EntityCache(kv.keyv, metrics, {
    ttlSeconds: config.cacheTtlSeconds,
    opTimeoutMs: config.limits.cacheOpTimeoutMs,
    onError: (err, op) => log.debug({ op, err: String(err) }, 'cache operation failed; treated as a miss'),
  });
  const services: GatewayServices = {
    config,
    directory: new TenantDirectory(config.tenants),
    connectors,
    upstream: new UpstreamClient(metrics, {
      attemptTimeoutMs: config.limits.upstreamAttemptTimeoutMs,
      maxAttempts: config.limits.upstreamMaxAttempts,
      baseDelayMs: 100,
      maxDelayMs: 2_000,
      breakerThreshold: 5,
      breakerHalfOpenAfterMs: 10_000,
    }),
    cache,
    credentials: options.credentials ?? new ConfigCredentialStore(),
    log,
    events: null,
  };
  const events = new EventPipeline(services);
  services.events = events;
  events.start();
  if (!events.queue.durable) log.warn('no REDIS_URL: webhook events are queued in memory and are NOT durable (lost if the process stops)');

  const schema = buildSchema();
  const jwt = config.jwt ? new JwtVerifier(config.jwt) : null;
  /** Tenant API key, or (when configured) a JWT from the trusted issuer naming the tenant. */
  const authenticate = async (authorization: string | undefined | null): Promise<Tenant> => {
    const token = bearerToken(authorization);
    if (!token) throw unauthenticated('send your tenant API key (or a JWT) as "Authorization: Bearer <token>"');
    if (jwt && looksLikeJwt(token)) {
      let tenantId: string;
      try {
        tenantId = await jwt.tenantOf(token);
      } catch (err) {
        throw unauthenticated(`JWT rejected: ${(err as Error).message}`);
      }
      const tenant = services.directory.byId(tenantId);
      if (!tenant) throw unauthenticated('JWT rejected: its tenant is not configured here');
      return tenant;
    }
    const tenant = services.directory.authenticate(token);
    if (!tenant) throw unauthenticated('the API key is not valid');
    return tenant;
  };

  const depthRule = maxDepthRule({
    n: config.limits.maxQueryDepth,
    ignoreIntrospection: true,
    flattenFragments: true,
    exposeLimits: true,
    // Report as an ordinary validation error (HTTP 400) instead of throwing out of validation.
    propagateOnRejection: false,
    onReject: [(ctx, err) => ctx?.reportError(new GraphQLError(err.message.replace(/^Syntax Error: /, '')))],
  });
  const apollo = new ApolloServer<RequestContext>({
    schema,
    introspection: true,
    csrfPrevention: true,
    includeStacktraceInErrorResponses: config.mode === 'development',
    validationRules: [depthRule],
    formatError: formatError(config.mode, (err) => log.error({ err }, 'unexpected error while answering a query')),
    plugins: [
      ApolloServerPluginLandingPageLocalDefault({
        embed: { initialState: { sharedHeaders: config.demoApiKey ? { Authorization: `Bearer ${config.demoApiKey}` } : {} } },
        document: EXAMPLE_QUERY,
        footer: false,
      }),
      // We set no HTTP cache hints; the plugin would wrap every field resolver for nothing.
      ApolloServerPluginCacheControlDisabled(),
      partialErrorsPlugin(),
      metricsPlugin(metrics),
    ],
  });
  await apollo.start();
  const renderGraphiql = graphiqlPage({ endpoint: '/graphql', apiKey: config.demoApiKey });

  const handleGraphql = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    let body: unknown;
    if (req.method === 'POST') {
      const raw = await readBody(req, config.limits.maxBodyBytes);
      if (raw === null) return sendJson(res, 413, { errors: [{ message: `request body exceeds ${config.limits.maxBodyBytes} bytes`, extensions: { code: 'BAD_USER_INPUT' } }] });
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
      context: async () => new RequestContext(services, await authenticate(req.headers.authorization), abort.signal, Date.now() + config.limits.requestDeadlineMs),
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

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = async () => {
      if (req.method === 'OPTIONS') {
        res.writeHead(204, { ...CORS_HEADERS, 'access-control-max-age': '600' });
        return res.end();
      }
      switch (url.pathname) {
        case '/graphql':
          return handleGraphql(req, res, url);
        case '/healthz':
          return sendJson(res, 200, { status: 'ok' });
        case '/readyz': {
          if (kv.kind === 'memory') return sendJson(res, 200, { status: 'ready', cache: 'memory' });
          const up = await kv.ping(1_000);
          return sendJson(res, up ? 200 : 503, { status: up ? 'ready' : 'not ready', redis: up ? 'up' : 'unreachable' });
        }
        case '/metrics': {
          const text = await metrics.registry.metrics();
          res.writeHead(200, { 'content-type': metrics.registry.contentType });
          return res.end(text);
        }
        case '/graphiql':
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' });
          return res.end(renderGraphiql());
        case '/':
          res.writeHead(302, { location: '/graphql' });
          return res.end();
        default:
          if (url.pathname.startsWith('/webhooks/')) return handleWebhook(req, res, url, services, events);
          return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
      }
    };
    route().catch((err: unknown) => {
      log.error({ err }, 'request handler failed');
      if (!res.headersSent) sendJson(res, 500, { errors: [{ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } }] });
      else res.destroy();
    });
  });

  // graphql-ws on the same port and path, authenticated with the same tenant API key as HTTP
  // (connectionParams.authorization).
  // The same size limit as HTTP bodies applies to every WebSocket message.
  const wss = new WebSocketServer({ server, path: '/graphql', maxPayload: config.limits.maxBodyBytes });
  const wsServer = useServer<{ authorization?: string }, { tenant?: Tenant }>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          ctx.extra.tenant = await authenticate(ctx.connectionParams?.authorization ?? null);
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      // A fresh context per operation: loaders must not hold records for the socket's lifetime.
      context: (ctx) => new RequestContext(services, ctx.extra.tenant as Tenant, new AbortController().signal, Date.now() + config.limits.requestDeadlineMs),
      // The same document limits as HTTP (depth); graphql-ws validates with these rules.
      validate: (s, document) => validate(s, document, [...specifiedRules, depthRule]),
      subscribe: (args) => sharedSubscribe(args, (args.contextValue as RequestContext).tenant.id),
    },
    wss,
  );

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  let stopping: Promise<void> | undefined;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;

  return {
    url: `http://${host}:${port}/graphql`,
    port,
    metrics,
    services,
    stop() {
      // Idempotent: a second stop (two signals, a test's afterAll after a failure) waits for the first.
      stopping ??= (async () => {
        await Promise.resolve(wsServer.dispose()).catch((err: unknown) => log.debug({ err: String(err) }, 'websocket server already closed'));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await apollo.stop();
        await events.close();
        await kv.close();
      })();
      return stopping;
    },
  };
}

const CORS_HEADERS: Record<string, string> = {
  // Credentials are bearer tokens, never cookies, so any origin may call (Apollo Sandbox's embed
  // runs on its own origin).
  'access-control-allow-origin': '*',
  'access-control-allow-methods': 'GET, POST, OPTIONS',
  'access-control-allow-headers': 'authorization, content-type, apollo-require-preflight, x-apollo-operation-name',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendJsonWith(res, status, body, CORS_HEADERS);
}

/** Adds the per-provider errors collected during execution to an answer that still has data. */
function partialErrorsPlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async willSendResponse({ response, contextValue }) {
          if (response.body.kind !== 'single' || !contextValue?.partialErrors?.length) return;
          const extra = contextValue.partialErrors.map((e) => e.toJSON());
          const result = response.body.singleResult;
          result.errors = [...(result.errors ?? []), ...extra];
        },
      };
    },
  };
}

function metricsPlugin(metrics: Metrics): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      const started = performance.now();
      return {
        async willSendResponse({ response, operation }) {
          const hasErrors = response.body.kind === 'single' && (response.body.singleResult.errors?.length ?? 0) > 0;
          metrics.graphqlDuration.observe({ operation_type: operation?.operation ?? 'unknown', has_errors: String(hasErrors) }, (performance.now() - started) / 1000);
        },
      };
    },
  };
}
