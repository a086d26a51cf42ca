// Child process of the benchmark: the demo emulators (20 ms latency per call, like a real API)
// plus two gateways on them — one with the cache off (cold numbers), one with it on (warm).
// Prints one JSON line with the URLs, then serves until killed.
import { DEFAULT_LIMITS, defaultGatewayConfig } from '../src/config.ts';
import { startDemo } from '../src/demo.ts';
import { createGateway } from '../src/server.ts';
import { generateMasterKeyEntry, parseMasterKeys } from '../src/accounts/vault.ts';
import { removeKeys } from '../test/redis-cleanup.ts';

const latencyMs = Number(process.env.BENCH_EMULATOR_LATENCY_MS ?? 20);
const demo = await startDemo({ latencyMs });
// Throughput is measured here, not fairness (bench/fairness.ts): the demo tenant's request limits are lifted.
const tenants = demo.tenants.map((t) => ({ ...t, limits: { tenantRequestsPerSecond: 1_000_000, tenantRequestBurst: 1_000_000, tenantConcurrency: 100_000 } }));
const base = { mode: 'production' as const, redisUrl: process.env.REDIS_URL ?? null, keyPrefix: `sbbench:${process.pid}` };
// Production mode needs a vault master key; a random one per run is enough here.
const keyring = parseMasterKeys(process.env.SWITCHBOARD_MASTER_KEYS ?? generateMasterKeyEntry('bench'), process.env.SWITCHBOARD_MASTER_KEY_ID);
const cold = await createGateway(defaultGatewayConfig(tenants, { ...base, cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 } }), {
  keyring,
});
const warm = await createGateway(defaultGatewayConfig(tenants, { ...base, keyPrefix: `${base.keyPrefix}:warm` }), { keyring });
// The record and list-page caches only (response cache off): what a hit cost before the response cache.
const records = await createGateway(
  defaultGatewayConfig(tenants, { ...base, keyPrefix: `${base.keyPrefix}:records`, limits: { ...DEFAULT_LIMITS, responseCacheTtlSeconds: 0 } }),
  { keyring },
);
// The emulators send their signed webhooks to the warm gateway (the "after a change event" row).
await demo.connectWebhooks(warm.url.replace(/\/graphql$/, ''));
process.stdout.write(
  `${JSON.stringify({ cold: cold.url, warm: warm.url, records: records.url, apiKey: demo.apiKey, emulators: Object.fromEntries(demo.emulators.map((e) => [e.name, e.url])) })}\n`,
);
const stop = async () => {
  await Promise.all([cold.stop(), warm.stop(), records.stop()]);
  await demo.stop();
  await removeKeys(base.redisUrl, base.keyPrefix);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
