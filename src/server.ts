// Composition root: builds the services, the authenticator, Apollo and the route table, and wires
// them to one node:http server (GraphQL over HTTP, graphql-ws on the same path, health, metrics,
// GraphiQL, connect and webhook routes). No logic of its own: each piece lives in src/gateway/.
// Plain node:http rather than Express: on these 2-core machines Apollo Server 5 on node:http (with
// graphql-ws attached) answered ~11.8k req/s for { hello }, behind Express 5 ~5k (issue #2's
// measurement); routing a handful of fixed paths needs no framework.
import { clientAddress, TRUST_NO_PROXY } from './inbound/client-address.ts';
import type { Logger } from 'pino';
import { connectorMap } from '../connectors/registry.ts';
import type { Connector } from '../connectors/sdk/types.ts';
import { createAuthenticator } from './callers/authenticate.ts';
import type { CredentialStore } from './accounts/credentials.ts';
import { JwtVerifier } from './callers/jwt.ts';
import { loadVaultKeyring, type MasterKeyring } from './accounts/vault.ts';
import type { GatewayConfig } from './config.ts';
import type { GatewayServices } from './context.ts';
import { buildSchema, depthLimit, startApollo } from './gateway/apollo.ts';
import { DrainableServer } from './gateway/http-server.ts';
import { createRequestListener } from './gateway/routes.ts';
import { buildServices, checkStartup } from './gateway/services.ts';
import { runs } from './gateway/roles.ts';
import { attachGraphqlWs } from './gateway/websocket.ts';
import { TenantAdmission } from './limits/fairness.ts';
import { createLogger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';
import { startMetricsListener } from './observability/metrics-endpoint.ts';
import { withRequestLog } from './observability/request-log.ts';
import { startTracing, type SpanExporterLike } from './observability/tracing.ts';

export { bearerToken } from './callers/authenticate.ts';
export { buildSchema, loadTypeDefs } from './gateway/apollo.ts';

export interface Gateway {
  url: string;
  port: number;
  metrics: Metrics;
  /** The separate /metrics listener's URL, when the config asks for one. */
  metricsUrl: string | null;
  services: GatewayServices;
  /**
   * Drains and stops (idempotent): /readyz turns 503 and new connections are refused at once;
   * graphql-ws sockets are closed with 1001 (going away) so clients reconnect to another replica;
   * event workers finish their job or hand it back; in-flight HTTP requests get `drainMs`
   * (default limits.shutdownDrainMs) before their connections are closed; then Redis is closed.
   * Each step is logged (info, one line).
   */
  stop(options?: { drainMs?: number }): Promise<void>;
}

export interface GatewayOptions {
  /** Connectors by id; defaults to the registry. */
  connectors?: ReadonlyMap<string, Connector>;
  credentials?: CredentialStore;
  logger?: Logger;
  /** Master keys of the credential vault; default from SWITCHBOARD_MASTER_KEYS (required in production). */
  keyring?: MasterKeyring;
  /** Export spans here instead of OTLP (tests); turns tracing on. */
  spanExporter?: SpanExporterLike;
}

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const connectors = options.connectors ?? connectorMap();
  const apps = checkStartup(config, connectors, process.env);
  const log = options.logger ?? createLogger(config.logLevel);
  // Production without a valid master key stops here with a precise message (MasterKeyConfigError).
  const keyring = options.keyring ?? loadVaultKeyring(process.env, config.mode);
  if (keyring.ephemeral) log.warn('no SWITCHBOARD_MASTER_KEYS: runtime connections are encrypted under a random key and are unreadable after a restart');
  const metrics = new Metrics({ defaultMetrics: config.mode !== 'test' });
  // Off unless configured; then the OpenTelemetry SDK is loaded here, and only here.
  const tracing = await startTracing({ endpoint: config.otlpTracesEndpoint, exporter: options.spanExporter });
  const built = await buildServices(config, { connectors, apps, credentials: options.credentials, keyring, log, metrics, tracing });
  const { services, kv } = built;

  const authenticate = createAuthenticator({
    directory: services.directory,
    apiKeys: services.apiKeys,
    jwt: config.jwt ? new JwtVerifier({ maxLifetimeSeconds: config.limits.jwtMaxLifetimeSeconds, ...config.jwt }) : null,
    log,
    apiKeyCheckTimeoutMs: config.limits.apiKeyCheckTimeoutMs,
    failures: services.authFailures,
  });
  const schema = buildSchema();
  const depthRule = depthLimit(config.limits.maxQueryDepth);
  const apollo = await startApollo(schema, depthRule, config, metrics, log, tracing);
  const admission = new TenantAdmission({
    redis: built.redis,
    keyPrefix: config.keyPrefix,
    timeoutMs: config.limits.cacheOpTimeoutMs,
    leaseMs: config.limits.requestDeadlineMs * 2,
    metrics,
  });
  const lifecycle = { draining: false };
  const listener = withRequestLog(createRequestListener({ services, apollo, authenticate, metrics, kv, lifecycle, admission, schema }), {
    log,
    metrics,
    tracing,
    clientAddress: (req) => clientAddress(req, config.trustedProxies ?? TRUST_NO_PROXY),
  });
  const http = new DrainableServer(config.limits, listener, lifecycle);
  const server = http.server;
  const port = await http.listen(config.port, config.host);
  const metricsListener = config.metrics
    ? await startMetricsListener(metrics, config.metrics).catch(async (err: unknown) => {
        server.close();
        await built.close();
        throw err;
      })
    : null;
  // Attached once listening: a listen error (EADDRINUSE) is then reported once, by the caller,
  // rather than also by graphql-ws as an "internal error" with a stack.
  const ws = runs(config.roles, 'subscriptions') ? attachGraphqlWs({ server, schema, depthRule, services, authenticate }) : { dispose: async () => 0 };
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}/graphql`,
    port,
    metrics,
    metricsUrl: metricsListener?.url ?? null,
    services,
    stop(options = {}) {
      // Idempotent: a second stop (two signals, a test's afterAll after a failure) waits for the first.
      stopping ??= (async () => {
        const started = Date.now();
        const drainMs = options.drainMs ?? config.limits.shutdownDrainMs;
        lifecycle.draining = true;
        const closed = http.stopAccepting();
        log.info({ inFlight: http.requestsInFlight }, 'drain: stopped accepting connections; /readyz answers 503');
        // Workers stop taking jobs now and run in parallel with the HTTP drain.
        const workers = services.events.stopWorkers(config.limits.shutdownJobGraceMs);
        const sockets = await ws.dispose();
        if (runs(config.roles, 'subscriptions')) log.info({ sockets }, 'drain: closed graphql-ws sockets with 1001 (going away)');
        const { finished, cut } = await http.finishInFlight(drainMs);
        if (cut > 0) log.warn({ finished, cut, drainMs }, 'drain: deadline reached; closed the connections of unfinished requests');
        else log.info({ finished, ms: Date.now() - started }, 'drain: in-flight HTTP requests finished');
        const jobs = await workers;
        if (runs(config.roles, 'workers')) log.info(jobs, 'drain: event workers stopped (jobs finished, or handed back to the queue for another replica)');
        await closed;
        await apollo.stop();
        await built.close();
        await metricsListener?.close();
        await tracing.shutdown();
        log.info({ ms: Date.now() - started }, 'drain: closed Redis connections; stopped');
      })();
      return stopping;
    },
  };
}
