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
import { GraphQLError, parse, specifiedRules, validate, type GraphQLSchema } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Logger } from 'pino';
import { WebSocketServer } from 'ws';
import { connectorMap } from '../connectors/registry.ts';
import type { Connector } from '../connectors/sdk/types.ts';
import { Redis } from 'ioredis';
import { MemoryApiKeyStore, RedisApiKeyStore, type ApiKeyStore } from './auth/api-keys.ts';
import { ConnectFlow, type HttpAnswer } from './auth/connect.ts';
import { MemoryConnectionStore, RedisConnectionStore, recordStatus, type ConnectionStore } from './auth/connections.ts';
import { VaultCredentialStore, type CredentialStore } from './auth/credentials.ts';
import { JwtVerifier, looksLikeJwt } from './auth/jwt.ts';
import { ProviderApps } from './auth/provider-apps.ts';
import { scopeError, scopesFromClaim } from './auth/scopes.ts';
import { TenantDirectory, type Principal } from './auth/tenants.ts';
import { TokenManager, TokenRefreshError } from './auth/token-manager.ts';
import { CredentialVault, createVaultStore, loadVaultKeyring, type MasterKeyring } from './auth/vault.ts';
import { EntityCache } from './cache/entity-cache.ts';
import { createKvStore, type KvStore } from './cache/store.ts';
import { ConfigError, type ApiKeyScope, type GatewayConfig } from './config.ts';
import { RequestContext, type GatewayServices } from './context.ts';
import { ConnectorContexts } from './connector-context.ts';
import { formatError, serviceUnavailable, toPublicError, unauthenticated } from './errors.ts';
import { withDeadline } from './util/bounded.ts';
import { graphiqlPage, EXAMPLE_QUERY } from './http/graphiql.ts';
import { publicBaseOf, readBody, sendJson as sendJsonWith } from './http/respond.ts';
import { localBudgets, sharedBudgets } from './http/rate-budget.ts';
import { UpstreamClient } from './http/upstream.ts';
import { createLogger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { connectionResolvers } from './resolvers/connections.ts';
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
  /** Master keys of the credential vault; default from SWITCHBOARD_MASTER_KEYS (required in production). */
  keyring?: MasterKeyring;
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
  return makeExecutableSchema({ typeDefs: loadTypeDefs(), resolvers: [resolvers, eventResolvers, connectionResolvers] as never });
}

/** Extracts the API key from "Bearer <key>" (case-insensitive scheme). */
export function bearerToken(header: string | undefined | null): string | null {
  if (!header) return null;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m ? (m[1] as string) : null;
}

function validateStartup(config: GatewayConfig, connectors: ReadonlyMap<string, Connector>, env: NodeJS.ProcessEnv, apps: ProviderApps): void {
  const problems: string[] = [...apps.problems()];
  if (config.allowInsecureOAuth && config.mode === 'production') problems.push('allowInsecureOAuth (http:// OAuth endpoints) is for emulators and tests; it is refused in production');
  const oauthProviders = Object.entries(config.providers).filter(([, r]) => r.oauth && !r.oauth.redirectUri);
  if (config.mode === 'production' && oauthProviders.length && !config.publicUrl) {
    // Connect links and redirect URIs would otherwise be built from the request's Host header.
    problems.push(`SWITCHBOARD_PUBLIC_URL must be set in production when OAuth apps are registered (providers: ${oauthProviders.map(([id]) => id).join(', ')})`);
  }
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
  const apps = new ProviderApps(config, connectors);
  validateStartup(config, connectors, process.env, apps);
  // Production without a valid master key stops here with a precise message (MasterKeyConfigError).
  const keyring = options.keyring ?? loadVaultKeyring(process.env, config.mode);
  const log = options.logger ?? createLogger(config.logLevel);
  if (keyring.ephemeral) log.warn('no SWITCHBOARD_MASTER_KEYS: runtime connections are encrypted under a random key and are unreadable after a restart');
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
  const onRedisError = (what: string) => (err: unknown) => log.warn({ err: String(err) }, `${what}: Redis error`);
  const connections: ConnectionStore = config.redisUrl
    ? new RedisConnectionStore(config.redisUrl, `${config.keyPrefix}:conn`, onRedisError('connection store'))
    : new MemoryConnectionStore();
  // Token-refresh locks, rate budgets and API-key lookups: short commands on one plain connection.
  const sharedRedis = config.redisUrl ? new Redis(config.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: 2_000 }) : null;
  sharedRedis?.on('error', onRedisError('token locks / rate budgets / API keys'));
  const apiKeys: ApiKeyStore = sharedRedis ? new RedisApiKeyStore(sharedRedis, config.keyPrefix) : new MemoryApiKeyStore();
  const vaultStore = await createVaultStore({ redisUrl: config.redisUrl, namespace: `${config.keyPrefix}:vault`, onError: onRedisError('vault') });
  const vault = new CredentialVault({ keyv: vaultStore.keyv, keyring });
  const directory = new TenantDirectory(config.tenants, connections, config.providers, config.limits.cacheOpTimeoutMs, (err) =>
    log.warn({ err: String(err) }, 'runtime connections unavailable (Redis); serving tenants-file connections only'),
  );
  const tokens = new TokenManager({
    vault,
    redis: sharedRedis,
    keyPrefix: `${config.keyPrefix}:token`,
    onStatusChange: async (change) => {
      await recordStatus(connections, change.tenantId, change.connectionId, change.status, change.reason);
      log.warn({ tenantId: change.tenantId, connectionId: change.connectionId, status: change.status }, 'connection status changed');
    },
    onRefreshed: async (_tenantId, connectionId, at) => {
      await connections.update(connectionId, { lastRefreshedAt: new Date(at).toISOString() });
    },
  });
  const upstream = new UpstreamClient(
    metrics,
    {
      attemptTimeoutMs: config.limits.upstreamAttemptTimeoutMs,
      maxAttempts: config.limits.upstreamMaxAttempts,
      baseDelayMs: 100,
      maxDelayMs: 2_000,
      breakerThreshold: 5,
      breakerHalfOpenAfterMs: 10_000,
    },
    globalThis.fetch,
    // With Redis, a connection's allowance is shared by every replica; without, per process.
    sharedRedis ? sharedBudgets(sharedRedis, config.keyPrefix, config.limits.cacheOpTimeoutMs) : localBudgets,
  );
  const credentials = options.credentials ?? new VaultCredentialStore({ vault, tokens, apps, connections });
  const contexts = new ConnectorContexts({ connectors, upstream, credentials, log });
  const events = new EventPipeline({ config, directory, contexts, cache, log });
  const services: GatewayServices = {
    config,
    directory,
    connectors,
    upstream,
    cache,
    credentials,
    connections,
    vault,
    apiKeys,
    connect: new ConnectFlow({ config, connectors, apps, connections, vault, tokens, directory, contexts }),
    log,
    contexts,
    events,
  };
  events.start();
  if (!events.queue.durable) log.warn('no REDIS_URL: webhook events are queued in memory and are NOT durable (lost if the process stops)');

  const schema = buildSchema();
  /** The gateway's base URL as the client reached it: the configured public URL, else the Host header. */
  const publicBase = (req: IncomingMessage): string => publicBaseOf(req, config.publicUrl);
  const jwt = config.jwt ? new JwtVerifier(config.jwt) : null;
  /**
   * Tenant API key (tenants file or runtime-issued), or (when configured) a JWT from the trusted
   * issuer naming the tenant; the tenant's runtime connections are merged in.
   */
  const authenticate = async (authorization: string | undefined | null): Promise<Principal> => {
    const token = bearerToken(authorization);
    if (!token) throw unauthenticated('send your tenant API key (or a JWT) as "Authorization: Bearer <token>"');
    let found: { tenantId: string; scopes: Iterable<ApiKeyScope> } | null = null;
    if (jwt && looksLikeJwt(token)) {
      try {
        const claims = await jwt.verify(token);
        found = { tenantId: claims.tenantId, scopes: scopesFromClaim(claims.scope) };
      } catch (err) {
        throw unauthenticated(`JWT rejected: ${(err as Error).message}`);
      }
      if (!services.directory.byId(found.tenantId)) throw unauthenticated('JWT rejected: its tenant is not configured here');
    } else {
      const file = services.directory.authenticate(token);
      if (file) found = { tenantId: file.tenant.id, scopes: file.scopes };
      else {
        let issued;
        try {
          issued = await withDeadline(apiKeys.authenticate(token), 2_000, 'checking a runtime API key');
        } catch (err) {
          log.warn({ err: String(err) }, 'runtime API keys unavailable (Redis)');
          throw serviceUnavailable('this API key cannot be checked right now (the gateway\'s key store is unreachable); retry shortly');
        }
        if (issued) found = { tenantId: issued.tenantId, scopes: issued.scopes };
      }
    }
    const tenant = found ? services.directory.byId(found.tenantId) : null;
    if (!found || !tenant) throw unauthenticated('the API key is not valid');
    return { tenant: await services.directory.view(tenant), scopes: new Set(found.scopes) };
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
      scopePlugin(),
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
      context: async () => {
        const rc = new RequestContext(services, await authenticate(req.headers.authorization), abort.signal, Date.now() + config.limits.requestDeadlineMs);
        rc.publicBase = publicBase(req);
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
        default: {
          const connect = /^\/connect\/([a-z][a-z0-9-]{1,31})(\/callback)?\/?$/.exec(url.pathname);
          const method = req.method ?? 'GET';
          if (connect && (method === 'GET' || (method === 'POST' && !connect[2]))) {
            const connector = connect[1] as string;
            const flow = services.connect;
            let answer: HttpAnswer;
            try {
              if (connect[2]) answer = await flow.callback(connector, url, req.headers.cookie);
              else if (method === 'GET') answer = await flow.confirmPage(connector, url);
              else {
                const raw = await readBody(req, 4096);
                if (raw === null) return sendJson(res, 413, { error: 'the confirmation form is larger than 4 KiB' });
                answer = await flow.confirmAndStart(connector, url, new URLSearchParams(raw.toString('utf8')), req.headers.cookie, publicBase(req));
              }
            } catch (err) {
              // A store outage, or a lock held too long by a refresh: retryable, not a server fault.
              if (toPublicError(err).extensions.code !== 'SERVICE_UNAVAILABLE') throw err;
              log.warn({ connector, err: (err as Error).name }, 'connect flow: store unreachable');
              answer = { status: 503, headers: { 'retry-after': '5' }, body: { error: 'temporarily unavailable; start the connection again in a moment', code: 'SERVICE_UNAVAILABLE' } };
            }
            return sendAnswer(res, answer);
          }
          if (url.pathname.startsWith('/webhooks/')) return handleWebhook(req, res, url, services, events);
          return sendJson(res, 404, { error: `no route for ${req.method} ${url.pathname}` });
        }
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
  const openSockets = new Map<import('ws').WebSocket, string | null>();
  const wsServer = useServer<{ authorization?: string }, { principal?: Principal; authorization?: string | null }>(
    {
      schema,
      onConnect: async (ctx) => {
        try {
          const authorization = ctx.connectionParams?.authorization ?? null;
          ctx.extra.principal = await authenticate(authorization);
          ctx.extra.authorization = authorization;
          const socket = ctx.extra.socket;
          openSockets.set(socket, authorization);
          socket.once('close', () => openSockets.delete(socket));
          return true;
        } catch {
          return false; // graphql-ws closes with 4403 Forbidden
        }
      },
      // A fresh context per operation: loaders must not hold records for the socket's lifetime.
      // The principal is re-read per operation, so a query sent over the socket sees connections
      // added or removed since it opened (subscriptions are checked per event, see resolvers/events.ts).
      context: async (ctx) => {
        const principal = await authenticate(ctx.extra.authorization ?? null);
        const rc = new RequestContext(services, principal, new AbortController().signal, Date.now() + config.limits.requestDeadlineMs);
        rc.publicBase = publicBase(ctx.extra.request);
        return rc;
      },
      onSubscribe: (ctx, _id, payload) => {
        const scopes = ctx.extra.principal?.scopes ?? new Set();
        let document;
        try {
          document = parse(payload.query);
        } catch {
          return; // graphql-ws reports the syntax error itself
        }
        const denied = scopeError(document, payload.operationName, scopes);
        return denied ? [denied] : undefined;
      },
      // The same document limits as HTTP (depth); graphql-ws validates with these rules.
      validate: (s, document) => validate(s, document, [...specifiedRules, depthRule]),
      subscribe: (args) => sharedSubscribe(args, (args.contextValue as RequestContext).tenant.id),
    },
    wss,
  );

  // A socket outlives the check made when it opened: every credentialRecheckMs its credential is
  // checked again, and a revoked API key or an expired JWT closes it (4403). A store outage
  // (SERVICE_UNAVAILABLE) closes nothing.
  const recheck = setInterval(() => {
    for (const [socket, authorization] of openSockets) {
      authenticate(authorization).catch((err: unknown) => {
        if (err instanceof GraphQLError && err.extensions.code === 'UNAUTHENTICATED' && openSockets.has(socket)) {
          log.info('closing a subscription socket whose credential is no longer valid');
          socket.close(4403, 'Forbidden: the credential was revoked or has expired');
        }
      });
    }
  }, config.limits.credentialRecheckMs);
  recheck.unref();

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
        clearInterval(recheck);
        await Promise.resolve(wsServer.dispose()).catch((err: unknown) => log.debug({ err: String(err) }, 'websocket server already closed'));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await apollo.stop();
        await events.close();
        await kv.close();
        await Promise.allSettled([connections.close(), apiKeys.close(), vaultStore.close(), sharedRedis?.quit()]);
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

/** Connect-flow answers: redirects and JSON, never cached. */
function sendAnswer(res: ServerResponse, answer: HttpAnswer): void {
  if (answer.body === undefined || typeof answer.body === 'string') {
    res.writeHead(answer.status, { 'cache-control': 'no-store', ...answer.headers });
    res.end(answer.body);
    return;
  }
  sendJsonWith(res, answer.status, answer.body, { 'cache-control': 'no-store', ...answer.headers });
}

/** Checks the operation's scope once it is known, before execution (FORBIDDEN, HTTP 403). */
function scopePlugin(): ApolloServerPlugin<RequestContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operationName, contextValue }) {
          const denied = scopeError(document, operationName, contextValue.principal.scopes);
          if (denied) throw denied;
        },
      };
    },
  };
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
