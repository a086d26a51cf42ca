// Child process of `npm run bench:connections`: a HubSpot emulator (no added latency, so the
// gateway's own cost shows) and one gateway with the cache off, holding
//   - tenant "configured": a tenants-file connection with a static token, its file API key, and a
//     runtime-issued API key (looked up in Redis on every request);
//   - tenant "oauth": one runtime connection made through the real connect flow (tokens in the
//     vault, refreshed by the token manager).
// Prints one JSON line with what the parent needs, then serves until killed.
import { randomUUID } from 'node:crypto';
import { startEmulator } from '../connectors/hubspot/emulator/index.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { generateMasterKeyEntry, parseMasterKeys } from '../src/accounts/vault.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { createGateway } from '../src/server.ts';
import { cookieBrowser, startConnect } from '../test/helpers.ts';
import { removeKeys } from '../test/redis-cleanup.ts';

const port = Number(process.env.BENCH_GATEWAY_PORT);
const callback = `http://127.0.0.1:${port}/connect/hubspot/callback`;
const TOKEN = 'pat-na1-bench000-0000-4000-8000-000000000000';
const app = { clientId: 'bench-app', clientSecret: `bench-secret-${randomUUID()}` };
const hubspot = await startEmulator({
  credentials: [TOKEN],
  seed: 42,
  scale: { contacts: 200, invoices: 10, orders: 10 },
  rateLimitPerSecond: 1_000_000,
  oauthClients: [{ ...app, redirectUris: [callback], scopes: ['crm.objects.contacts.read'] }],
});
const keys = { configured: `sb_bench_${randomUUID()}`, oauth: `sb_bench_${randomUUID()}` };
// Throughput and a 50-request stampede are measured here, not fairness (bench/fairness.ts): the
// tenants' request limits (20 at once by default) are lifted.
const BENCH_LIMITS = { tenantRequestsPerSecond: 1_000_000, tenantRequestBurst: 1_000_000, tenantConcurrency: 100_000 };
const config = defaultGatewayConfig(
  [
    {
      id: 'configured',
      apiKeys: [{ id: 'file', sha256: hashApiKey(keys.configured) }],
      limits: BENCH_LIMITS,
      connections: [
        {
          id: 'configured-hubspot',
          provider: 'hubspot',
          baseUrl: hubspot.url,
          credentials: { type: 'static', token: TOKEN },
          settings: {},
          rateLimit: { requests: 1_000_000, windowMs: 1000 },
        },
      ],
    },
    { id: 'oauth', apiKeys: [{ id: 'file', sha256: hashApiKey(keys.oauth) }], limits: BENCH_LIMITS, connections: [] },
  ],
  {
    port,
    // Not production: the emulator's OAuth endpoints are loopback http, which production refuses.
    // Both tenants share this gateway, so the comparison is like for like.
    mode: 'test',
    redisUrl: process.env.REDIS_URL as string, // set by bench/connections.ts
    keyPrefix: `sbbench:conn:${process.pid}`,
    cacheTtlSeconds: { Contact: 0, Invoice: 0, Order: 0, listPage: 0 },
    allowInsecureOAuth: true,
    providers: {
      hubspot: {
        baseUrl: hubspot.url,
        // Same allowance as the configured connection: the bench measures the gateway, not the budget.
        rateLimit: { requests: 1_000_000, windowMs: 1000 },
        oauth: {
          clientId: app.clientId,
          clientSecret: { type: 'static', token: app.clientSecret },
          scopes: ['crm.objects.contacts.read'],
          authorizationUrl: `${hubspot.url}/oauth/authorize`,
          tokenUrl: `${hubspot.url}/oauth/2026-03/token`,
        },
      },
    },
  },
);
const keyring = parseMasterKeys(generateMasterKeyEntry('bench'), undefined);
const gateway = await createGateway(config, { keyring });

const runtimeKey = (await gateway.services.apiKeys.create('configured', { scopes: ['read'] })).key;

// The connect flow, played by fetch.
const gql = async (query: string, key: string) =>
  (await (
    await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      body: JSON.stringify({ query }),
    })
  ).json()) as {
    data: Record<string, { url: string }>;
  };
const session = await gql(`mutation { createConnectSession(connector: "hubspot") { url } }`, keys.oauth);
const browser = cookieBrowser();
let res = await startConnect(browser, session.data.createConnectSession!.url);
res = await browser(res.headers.get('location')!);
res = await browser(res.headers.get('location')!);
if (res.status !== 200) throw new Error(`connect flow failed: ${res.status} ${await res.text()}`);

// One contact of each tenant's connection, read by id in the benchmark (a batch read: the contacts
// list goes through HubSpot's search, 5 a second, which a 50-read stampede would only queue on).
const firstContact = async (key: string) => {
  const got = (await gql(`{ contacts(first: 1) { nodes { id } } }`, key)) as unknown as { data?: { contacts: { nodes: Array<{ id: string }> } } };
  const id = got.data?.contacts.nodes[0]?.id;
  if (!id) throw new Error(`no contact to read: ${JSON.stringify(got)}`);
  return id;
};
const contactIds = { configured: await firstContact(keys.configured), oauth: await firstContact(keys.oauth) };
process.stdout.write(`${JSON.stringify({ url: gateway.url, hubspot: hubspot.url, keys: { ...keys, runtime: runtimeKey }, contactIds })}\n`);
const stop = async () => {
  await gateway.stop();
  await hubspot.stop();
  await removeKeys(config.redisUrl, config.keyPrefix);
  process.exit(0);
};
process.on('SIGTERM', () => void stop());
process.on('SIGINT', () => void stop());
