// Child process of the webhook benchmark: the Stripe emulator (the connection's baseUrl, as in a
// real setup; customer.updated events carry the full object, so the worker never calls it) and
// one gateway on Redis (durable BullMQ path) with a tenant whose Stripe connection has a webhook
// secret. The parent chooses the API key, secret and key prefix (env) and deletes the prefix's
// keys at the end. Prints one JSON line with the URLs, then serves until told to stop.
// BENCH_GATEWAY_FROM=dist runs the compiled build (`npm run build`, what the Docker image runs)
// instead of the sources through tsx.
import { removeKeys } from '../test/redis-cleanup.ts';

const fromDist = process.env.BENCH_GATEWAY_FROM === 'dist';
const load = <T>(path: string): Promise<T> => import(fromDist ? `../dist/${path}.js` : `../${path}.ts`) as Promise<T>;
const { startEmulator: startStripe } = await load<typeof import('../connectors/stripe/emulator/index.ts')>('connectors/stripe/emulator/index');
const { hashApiKey } = await load<typeof import('../src/callers/tenants.ts')>('src/callers/tenants');
const { defaultGatewayConfig } = await load<typeof import('../src/config.ts')>('src/config');
const { createLogger } = await load<typeof import('../src/observability/logger.ts')>('src/observability/logger');
const { createGateway } = await load<typeof import('../src/server.ts')>('src/server');
const { parseRoles } = await load<typeof import('../src/gateway/roles.ts')>('src/gateway/roles');
const { generateMasterKeyEntry, parseMasterKeys } = await load<typeof import('../src/accounts/vault.ts')>('src/accounts/vault');

const env = (name: string): string => {
  const v = process.env[name];
  if (!v) throw new Error(`${name} is not set`);
  return v;
};
const apiKey = env('BENCH_API_KEY');
const secret = env('BENCH_WEBHOOK_SECRET');
const keyPrefix = env('BENCH_KEY_PREFIX');
const connectionId = env('BENCH_CONNECTION_ID');
const redisUrl = env('REDIS_URL');
const stripeToken = 'sk_test_switchboard_bench_key_00000000000';

const stripe = await startStripe({ credentials: [stripeToken], seed: 42, rateLimitPerSecond: 1000 });
const tenants = [
  {
    id: 'bench',
    name: 'Webhook benchmark tenant',
    apiKeys: [{ id: 'bench-key', sha256: hashApiKey(apiKey) }],
    connections: [
      {
        id: connectionId,
        provider: 'stripe',
        baseUrl: stripe.url,
        credentials: { type: 'static' as const, token: stripeToken },
        settings: {},
        webhookSecret: { type: 'static' as const, token: secret },
      },
    ],
  },
];
// mode production: the default process metrics (RSS) are collected, unexpected errors masked.
// SWITCHBOARD_ROLES (env) makes this one process of a split deployment (unset: every role).
// Warnings and errors go to stderr, where the parent counts them.
// Production mode needs a vault master key; a random one per run is enough here.
const keyring = parseMasterKeys(process.env.SWITCHBOARD_MASTER_KEYS ?? generateMasterKeyEntry('bench'), process.env.SWITCHBOARD_MASTER_KEY_ID);
const gateway = await createGateway(
  defaultGatewayConfig(tenants, { mode: 'production', redisUrl, keyPrefix, roles: parseRoles(process.env.SWITCHBOARD_ROLES) }),
  {
    logger: createLogger('warn', process.stderr),
    keyring,
  },
);
process.stdout.write(
  `${JSON.stringify({ ready: true, url: gateway.url, webhookUrl: `${gateway.url.replace(/\/graphql$/, '')}/webhooks/stripe/${connectionId}`, pid: process.pid })}\n`,
);

let stopping = false;
const stop = async () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(1), 8_000).unref();
  await gateway.stop().catch(() => undefined);
  await stripe.stop().catch(() => undefined);
  if (process.env.BENCH_KEEP_KEYS !== 'true') await removeKeys(redisUrl, keyPrefix);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
process.on('disconnect', () => void stop()); // the parent went away
