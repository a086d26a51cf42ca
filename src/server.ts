// Composition root: builds the services, the authenticator, Apollo and the route table, and wires
// them to one node:http server (GraphQL over HTTP, graphql-ws on the same path, health, metrics,
// GraphiQL, connect and webhook routes). No logic of its own: each piece lives in src/gateway/.
// Plain node:http rather than Express: on these 2-core machines Apollo Server 5 on node:http (with
// graphql-ws attached) answered ~11.8k req/s for { hello }, behind Express 5 ~5k (issue #2's
// measurement); routing a handful of fixed paths needs no framework.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
import { createRequestListener } from './gateway/routes.ts';
import { buildServices, checkStartup } from './gateway/services.ts';
import { attachGraphqlWs } from './gateway/websocket.ts';
import { createLogger } from './observability/logger.ts';
import { Metrics } from './observability/metrics.ts';

export { bearerToken } from './callers/authenticate.ts';
export { buildSchema, loadTypeDefs } from './gateway/apollo.ts';

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

export async function createGateway(config: GatewayConfig, options: GatewayOptions = {}): Promise<Gateway> {
  const connectors = options.connectors ?? connectorMap();
  const apps = checkStartup(config, connectors, process.env);
  const log = options.logger ?? createLogger(config.logLevel);
  // Production without a valid master key stops here with a precise message (MasterKeyConfigError).
  const keyring = options.keyring ?? loadVaultKeyring(process.env, config.mode);
  if (keyring.ephemeral) log.warn('no SWITCHBOARD_MASTER_KEYS: runtime connections are encrypted under a random key and are unreadable after a restart');
  const metrics = new Metrics({ defaultMetrics: config.mode !== 'test' });
  const built = await buildServices(config, { connectors, apps, credentials: options.credentials, keyring, log, metrics });
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
  const apollo = await startApollo(schema, depthRule, config, metrics, log);
  const server = createServer(createRequestListener({ services, apollo, authenticate, metrics, kv }));
  const ws = attachGraphqlWs({ server, schema, depthRule, services, authenticate });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host.includes(':') ? `[${config.host}]` : config.host;
  let stopping: Promise<void> | undefined;

  return {
    url: `http://${host}:${port}/graphql`,
    port,
    metrics,
    services,
    stop() {
      // Idempotent: a second stop (two signals, a test's afterAll after a failure) waits for the first.
      stopping ??= (async () => {
        await ws.dispose();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        await apollo.stop();
        await built.close();
      })();
      return stopping;
    },
  };
}
