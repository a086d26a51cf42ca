// Process entry point (`npm start`, `node dist/src/main.js`): reads the environment, starts the demo
// emulators when no tenants file is given, checks that Redis answers, starts the gateway, and owns
// SIGINT/SIGTERM: the first drains (Gateway.stop) and exits 0; another one, a second or more later,
// forces exit (code 130/143).
import { createRedis, redisAddress } from './util/redis.ts';
import { ConfigError, defaultGatewayConfig, jwtSettingsFromEnv, loadTenantsFile, overridesFromEnv, parseEnv, type GatewayConfig } from './config.ts';
import { startDemo, type Demo } from './demo.ts';
import { closeLog, createLogger } from './observability/logger.ts';
import { createGateway } from './server.ts';
import { parseRoles } from './gateway/roles.ts';
import { loadVaultKeyring } from './accounts/vault.ts';

async function main(): Promise<void> {
  const env = parseEnv(process.env);
  const log = createLogger(env.LOG_LEVEL);
  let demo: Demo | null = null;
  // Production refuses to start without a valid vault master key (precise message, exit 2).
  const keyring = loadVaultKeyring(process.env, env.NODE_ENV);
  let tenants: GatewayConfig['tenants'];
  let providers: GatewayConfig['providers'] = {};
  if (env.SWITCHBOARD_CONFIG) {
    const file = loadTenantsFile(env.SWITCHBOARD_CONFIG);
    tenants = file.tenants;
    providers = file.providers;
  } else {
    demo = await startDemo({ apiKey: env.SWITCHBOARD_DEMO_API_KEY, gatewayPort: env.PORT });
    tenants = demo.tenants;
    providers = demo.providers;
  }
  const config = defaultGatewayConfig(tenants, {
    port: env.PORT,
    host: env.HOST,
    mode: env.NODE_ENV,
    redisUrl: env.REDIS_URL ?? null,
    keyPrefix: env.SWITCHBOARD_KEY_PREFIX,
    logLevel: env.LOG_LEVEL,
    demoApiKey: demo?.apiKey,
    publicUrl: env.SWITCHBOARD_PUBLIC_URL,
    jwt: jwtSettingsFromEnv(env),
    providers,
    // The demo's OAuth endpoints are the emulators on loopback http.
    allowInsecureOAuth: demo !== null && env.NODE_ENV !== 'production',
    // The demo is for exploring: introspection and suggestions for every key, and GraphiQL.
    schemaExploration: demo ? 'everyone' : 'scoped',
    graphiql: demo !== null || env.SWITCHBOARD_GRAPHIQL === 'true',
    ...overridesFromEnv(env),
    roles: parseRoles(env.SWITCHBOARD_ROLES),
  });
  config.events.changeLogShards = env.SWITCHBOARD_CHANGE_LOG_SHARDS;
  config.events.intakeShards = env.SWITCHBOARD_INTAKE_SHARDS;

  if (config.redisUrl) await waitForRedis(config.redisUrl, config.limits.redisStartupTimeoutMs, config.limits.redisConnectTimeoutMs);
  let gateway;
  try {
    gateway = await createGateway(config, { logger: log, keyring });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE')
      throw new ConfigError(`port ${config.port} on ${config.host} is already in use: set PORT to a free port (or stop the process listening there)`);
    throw err;
  }
  // Signals from here on; before, the default (exit at once) is right: there is nothing to drain.
  // A repeat within REPEAT_WINDOW_MS is the same interruption: Ctrl-C under `npm start` reaches the
  // process twice (from the terminal, and forwarded by npm).
  let stopping = 0;
  const REPEAT_WINDOW_MS = 1_000;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping && Date.now() - stopping < REPEAT_WINDOW_MS) return;
    if (stopping) {
      log.warn({ signal }, 'second signal: exiting without finishing the drain');
      process.exit(signal === 'SIGINT' ? 130 : 143);
    }
    stopping = Date.now();
    log.info({ signal, drainMs: config.limits.shutdownDrainMs }, 'drain: signal received');
    void (async () => {
      try {
        await gateway.stop();
        await demo?.stop();
        await closeLog(log);
        process.exit(0);
      } catch (err) {
        log.error({ err }, 'drain failed');
        await closeLog(log);
        process.exit(1);
      }
    })();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  await demo?.connectWebhooks(gateway.url.replace(/\/graphql$/, ''), (err) =>
    log.warn({ err: err.message }, 'the demo runs, but could not record itself for `npm run demo:change` (is the working directory writable?)'),
  );
  // Listening on every interface (HOST=0.0.0.0, as in the image): the browser address is still localhost.
  const shown = gateway.url.replace(/\/\/(?:127\.0\.0\.1|0\.0\.0\.0)(?=:)/, '//localhost');
  log.info({ url: gateway.url, cache: config.redisUrl ? 'redis' : 'memory', roles: [...(config.roles ?? [])].join(',') }, 'switchboard is listening');
  const graphiqlUrl = config.graphiql ? shown.replace(/\/graphql$/, '/graphiql') : undefined;
  const lines = [`\n  Switchboard is running at ${shown}`];
  if (graphiqlUrl) lines.push(`  Offline GraphiQL:        ${graphiqlUrl}`);
  if (demo) {
    lines.push(
      '',
      '  Demo mode: no SWITCHBOARD_CONFIG, so the built-in provider emulators serve seeded demo data:',
      ...demo.emulators.map((e) => `    ${e.name.padEnd(8)} emulator at ${e.url}`),
      '',
      `  Demo tenant API key:  ${demo.apiKey}`,
      `  Try:  curl -s ${shown} -H 'content-type: application/json' -H 'authorization: Bearer ${demo.apiKey}' \\`,
      `          -d '{"query":"{ contacts(first: 3) { nodes { name emails { address } source { provider } } } }"}'`,
      '',
      '  Live changes: subscribe to contactChanged / invoiceChanged in Sandbox, then run `npm run demo:change`.',
    );
  }
  if (!config.redisUrl) {
    lines.push(
      '',
      '  Cache: in memory (set REDIS_URL to share it between replicas).',
      '  Webhook events: queued in memory, NOT durable: lost if the process stops (set REDIS_URL).',
      '  Connections you add (createConnectSession, connectWithApiKey): kept in memory, gone after a restart (set REDIS_URL).',
    );
  }
  if (keyring.ephemeral)
    lines.push('  Credential vault: random master key for this run (set SWITCHBOARD_MASTER_KEYS to keep credentials readable across restarts).');
  // The human banner only on a terminal: collected output stays JSON lines (the log line above).
  // With LOG_LEVEL=silent no JSON line is written at all, so the banner is (scripts read it).
  if (process.stdout.isTTY || env.LOG_LEVEL === 'silent') process.stdout.write(`${lines.join('\n')}\n\n`);
  else if (demo)
    // No banner (output collected, `docker run` without -t): say where the key is, never the key itself.
    log.info(
      { graphiql: graphiqlUrl },
      'demo mode: the demo tenant API key is preset in GraphiQL and in Apollo Sandbox (open the URL in a browser), printed on a terminal, or chosen with SWITCHBOARD_DEMO_API_KEY',
    );
}

/**
 * Startup with REDIS_URL: waits (retrying) until Redis answers PING, at most `timeoutMs`, then
 * refuses to start with one message naming the address (never the password) and the last error,
 * instead of starting a gateway that warns on every reconnect and serves nothing durable.
 */
async function waitForRedis(url: string, timeoutMs: number, connectTimeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  for (;;) {
    const redis = createRedis(url, {
      lazyConnect: true,
      connectTimeout: Math.max(1, Math.min(connectTimeoutMs, deadline - Date.now())),
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      retryStrategy: () => null,
    });
    let cause: NodeJS.ErrnoException | null = null;
    redis.on('error', (err: NodeJS.ErrnoException) => (cause = err)); // reported once, below
    try {
      await redis.connect();
      await redis.ping();
      return;
    } catch (err) {
      // The socket's error (ECONNREFUSED, ENOTFOUND, ETIMEDOUT) says more than the rejection.
      const reason = (cause ?? err) as NodeJS.ErrnoException;
      last = reason.code ?? reason.message;
    } finally {
      redis.disconnect();
    }
    if (Date.now() + 500 >= deadline) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new ConfigError(
    `Redis at ${redisAddress(url)} did not answer within ${timeoutMs} ms (${last}): start Redis or fix REDIS_URL ` +
      `(REDIS_STARTUP_TIMEOUT_MS waits longer; unset REDIS_URL to run in memory, one process, nothing durable)`,
  );
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`switchboard failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
