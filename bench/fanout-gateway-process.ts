// Child process of the fan-out benchmark (bench/fanout.ts): one gateway with in-memory stores, so
// only the subscription path runs (no webhook intake, no queue, no Redis), or one process of a
// split deployment on Redis (see below). The parent drives it
// over IPC: `publish` appends contact changes straight to the change log (what a worker does after
// processing a webhook), `measure` reports memory after a full GC and CPU time used so far.
// BENCH_SWITCHBOARD_ROOT points at the source tree to run (the current one, or the baseline commit
// extracted by the parent), so before and after are measured in the same run.
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';
import { writeHeapSnapshot } from 'node:v8';

const root = resolve(process.env.BENCH_SWITCHBOARD_ROOT ?? new URL('..', import.meta.url).pathname);
const load = async <T>(path: string): Promise<T> => (await import(pathToFileURL(resolve(root, path)).href)) as T;
type Server = typeof import('../src/server.ts');
type Config = typeof import('../src/config.ts');
type Tenants = typeof import('../src/callers/tenants.ts');
type Logger = typeof import('../src/observability/logger.ts');
type Vault = typeof import('../src/accounts/vault.ts');
const { createGateway } = await load<Server>('src/server.ts');
const { defaultGatewayConfig } = await load<Config>('src/config.ts');
const { hashApiKey } = await load<Tenants>('src/callers/tenants.ts');
const { createLogger } = await load<Logger>('src/observability/logger.ts');
const { generateMasterKeyEntry, parseMasterKeys } = await load<Vault>('src/accounts/vault.ts');

const apiKey = process.env.BENCH_API_KEY ?? 'sb_bench_fanout_key_000000000000000000';
const connectionId = 'stripe-bench';
const tenants = [
  {
    id: 'bench',
    name: 'Fan-out benchmark tenant',
    apiKeys: [{ id: 'bench-key', sha256: hashApiKey(apiKey) }],
    // Thousands of sockets from one tenant: the per-tenant caps are lifted for the benchmark.
    limits: { maxSocketsPerTenant: 100_000, maxSubscriptionsPerSocket: 1_000 },
    connections: [
      {
        id: connectionId,
        provider: 'stripe',
        baseUrl: 'http://127.0.0.1:9',
        credentials: { type: 'static' as const, token: 'sk_test_switchboard_bench_key_00000000000' },
        settings: {},
      },
    ],
  },
];
// A split deployment (BENCH_REDIS_URL, BENCH_ROLES): processes sharing one Redis and key prefix,
// each running only its roles (e.g. one `api` process appending changes, two `subscriptions`).
const redisUrl = process.env.BENCH_REDIS_URL || null;
const roles = process.env.BENCH_ROLES ? new Set(process.env.BENCH_ROLES.split(',')) : undefined;
const keyPrefix = process.env.BENCH_KEY_PREFIX ?? `sbfanout:${process.pid}`;
const gateway = await createGateway(defaultGatewayConfig(tenants as never, { redisUrl, keyPrefix, ...(roles ? { roles: roles as never } : {}) }), {
  logger: createLogger('warn', process.stderr),
  // Production mode needs a vault master key; a random one per run is enough here.
  keyring: parseMasterKeys(generateMasterKeyEntry('bench'), undefined),
});
const log = gateway.services.events.log;

function contactChange(n: number, tag: string) {
  const now = new Date().toISOString();
  return {
    tenantId: 'bench',
    connectionId,
    provider: 'stripe',
    entity: 'Contact' as const,
    eventId: `evt_${tag}_${n}`,
    type: 'UPDATED' as const,
    occurredAt: now,
    remoteId: `cus_${n}`,
    publishedAt: now,
    model: {
      entity: 'Contact' as const,
      source: { provider: 'stripe', remoteId: `cus_${n}`, remoteUrl: null, remoteCreatedAt: now, remoteUpdatedAt: now, remoteDeleted: false },
      firstName: 'Ada',
      lastName: `Lovelace ${n}`,
      name: `${tag}:${n}:${performance.timeOrigin + performance.now()}`,
      jobTitle: null,
      companyName: 'Analytical Engines Ltd',
      emails: [{ address: `ada${n}@example.com`, type: 'WORK' as const, primary: true }],
      phones: [],
      addresses: [],
      tags: [],
      customFields: {},
      createdAt: now,
      updatedAt: now,
      raw: null,
    },
  };
}

/** `perSecond` paces the changes (0: as fast as the log takes them, `perTick` per macrotask). */
type Command =
  | { type: 'measure'; gc?: boolean }
  | { type: 'snapshot'; path: string }
  | { type: 'publish'; tag: string; count: number; perTick: number; perSecond: number }
  | { type: 'stop' };

process.on('message', (raw) => {
  const cmd = raw as Command;
  void (async () => {
    if (cmd.type === 'measure') {
      if (cmd.gc !== false) for (let i = 0; i < 3; i++) globalThis.gc?.();
      const m = process.memoryUsage();
      const cpu = process.cpuUsage();
      process.send?.({ type: 'measured', rss: m.rss, heapUsed: m.heapUsed, external: m.external, cpuMs: (cpu.user + cpu.system) / 1000 });
    } else if (cmd.type === 'snapshot') {
      // For finding what an idle subscription retains (compare two snapshots by constructor).
      writeHeapSnapshot(cmd.path);
      process.send?.({ type: 'snapshotted' });
    } else if (cmd.type === 'publish') {
      const start = performance.now();
      for (let sent = 0; sent < cmd.count;) {
        const batch = Math.min(cmd.perTick, cmd.count - sent);
        await Promise.all(Array.from({ length: batch }, (_, i) => log.append(contactChange(sent + i, cmd.tag))));
        sent += batch;
        const due = cmd.perSecond > 0 ? start + (sent / cmd.perSecond) * 1000 - performance.now() : 0;
        await new Promise((r) => (due > 1 ? setTimeout(r, due) : setImmediate(r)));
      }
      process.send?.({ type: 'published' });
    } else if (cmd.type === 'stop') {
      await gateway.stop().catch(() => undefined);
      process.exit(0);
    }
  })();
});
process.on('disconnect', () => void gateway.stop().finally(() => process.exit(0)));
process.send?.({ type: 'ready', url: gateway.url, apiKey });
