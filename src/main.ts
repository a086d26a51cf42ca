// Process entry point (`npm start`): reads the environment, starts the demo emulators when no
// tenants file is given, starts the gateway, and stops cleanly on SIGINT/SIGTERM.
import { ConfigError, defaultGatewayConfig, jwtSettingsFromEnv, loadTenantsFile, overridesFromEnv, parseEnv, type GatewayConfig } from './config.ts';
import { startDemo, type Demo } from './demo.ts';
import { createLogger } from './observability/logger.ts';
import { createGateway } from './server.ts';
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
  });

  const gateway = await createGateway(config, { logger: log, keyring });
  await demo?.connectWebhooks(gateway.url.replace(/\/graphql$/, ''));
  const shown = gateway.url.replace('127.0.0.1', 'localhost');
  log.info({ url: gateway.url, cache: config.redisUrl ? 'redis' : 'memory' }, 'switchboard is listening');
  const lines = [`\n  Switchboard is running at ${shown}`];
  if (config.graphiql) lines.push(`  Offline GraphiQL:        ${shown.replace(/\/graphql$/, '/graphiql')}`);
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
  process.stdout.write(`${lines.join('\n')}\n\n`);

  const shutdown = async (signal: string) => {
    log.info({ signal }, 'shutting down');
    await gateway.stop();
    await demo?.stop();
    process.exit(0);
  };
  process.once('SIGINT', () => void shutdown('SIGINT'));
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) {
    process.stderr.write(`switchboard: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`switchboard failed to start: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
