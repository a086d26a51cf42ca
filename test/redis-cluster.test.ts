// The gateway on a 3-master Redis Cluster (REDIS_URL=redis+cluster://…), two replicas, end to end
// through the real HTTP and WebSocket APIs: a runtime OAuth connection (connection store, connect
// sessions, vault), provider webhooks → durable queue → worker → sharded change log →
// subscribers on the other replica (resumed from a cursor), the cache (a warm query reaches no
// provider), and the token-refresh lock (an expired token, queries on both replicas at once,
// exactly one refresh). Every multi-key script and transaction the gateway runs on that path would
// fail here with CROSSSLOT if its keys did not share a hash tag.
import { randomUUID } from 'node:crypto';
import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord } from '../src/accounts/token-manager.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { encodeId } from '../src/ids.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { parseClusterUrl } from '../src/util/redis.ts';
import {
  TOKENS,
  admin,
  cookieBrowser,
  emulatorRegistrations,
  freePort,
  graphql,
  startConnect,
  startStack,
  subscribe,
  type Stack,
  sendStripeWebhooksToAcme,
} from './helpers.ts';
import { startRedisCluster, type RedisCluster } from './redis-cluster.ts';

const STRIPE_SECRET = 'whsec_switchboard_cluster_secret_00';
const HUBSPOT_APP = { clientId: 'hs-cluster-app', clientSecret: 'hs-cluster-app-secret-000000000' };
const BETA_KEY = `sb_beta_${randomUUID()}`;
const CONTACT_SUB = `subscription ($after: String) { contactChanged(after: $after) { cursor type id contact { name } } }`;
type ContactChange = { contactChanged: { cursor: string; type: string; id: string; contact: { name: string | null } | null } };
const CONTACT = 'query ($id: ID!) { contact(id: $id) { name source { cacheStatus } } }';
const CONTACTS = `query($id: ID!) { contacts(first: 2, filter: { connectionId: $id }) { nodes { id } } }`;

let cluster: RedisCluster;
let stack: Stack;
let replicaB: Gateway;
const browser = cookieBrowser();

beforeAll(async () => {
  cluster = await startRedisCluster(3);
  const port = await freePort();
  const callback = `http://127.0.0.1:${port}/connect/hubspot/callback`;
  stack = await startStack({
    redisUrl: cluster.url,
    scale: { contacts: 8, invoices: 4, orders: 4 },
    oauthClients: { hubspot: [{ ...HUBSPOT_APP, redirectUris: [callback], scopes: ['crm.objects.contacts.read'] }] },
    config: {
      port,
      allowInsecureOAuth: true,
      events: { workerConcurrency: 4, maxAttempts: 2, retryBaseDelayMs: 20, dedupeTtlSeconds: 3600, retainedChanges: 1_000, changeLogShards: 4 },
    },
    extraTenants: () => [
      {
        id: 'beta',
        apiKeys: [{ id: 'b1', sha256: hashApiKey(BETA_KEY) }],
        connections: [],
        connectReturnUrls: ['https://app.example.com/integrations/'],
        limits: { tenantConcurrency: 100, tenantRequestsPerSecond: 1000, tenantRequestBurst: 1000 },
      },
    ],
  });
  Object.assign(stack.gateway.services.config.providers, emulatorRegistrations(stack, { hubspot: { ...HUBSPOT_APP, scopes: ['crm.objects.contacts.read'] } }));
  await sendStripeWebhooksToAcme(stack, STRIPE_SECRET);
  const a = stack.gateway.services.config;
  replicaB = await createGateway(defaultGatewayConfig(a.tenants, { ...a, port: 0 }));
}, 60_000);

afterAll(async () => {
  await replicaB?.stop();
  await stack?.stop();
  await cluster?.stop();
});

async function firstStripeCustomer(): Promise<string> {
  const res = await fetch(`${stack.stripe.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
  return ((await res.json()) as { data: Array<{ id: string }> }).data[0]!.id;
}

describe('on a 3-master Redis Cluster', () => {
  it('the gateway really runs on a cluster: its keys are spread over all three masters', async () => {
    const probe = new Cluster(parseClusterUrl(cluster.url)!.nodes);
    try {
      await stack.query('{ contacts(first: 3) { nodes { id } } }');
      const prefix = stack.gateway.services.config.keyPrefix;
      const perNode = await Promise.all(probe.nodes('master').map((n) => n.keys(`${prefix}*`)));
      expect(perNode.every((keys) => keys.length > 0)).toBe(true);
    } finally {
      probe.disconnect();
    }
  });

  it('webhook → queue → worker → change log → subscriber on the other replica, once, cache refreshed', async () => {
    const customer = await firstStripeCustomer();
    const id = encodeId('Contact', 'acme-stripe', customer);
    const warm = await stack.query<{ contact: { name: string } }>(CONTACT, { id });
    stack.stripe.resetRequests();
    const cached = await stack.query<{ contact: { name: string; source: { cacheStatus: string } } }>(CONTACT, { id });
    expect(cached.data!.contact.source.cacheStatus).toBe('HIT');
    expect(stack.stripe.count()).toBe(0);

    const { data } = await graphql<{ changeCursor: string }>(replicaB.url, stack.apiKey, '{ changeCursor }');
    const sub = await subscribe<ContactChange>(replicaB.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
    try {
      const newName = `Clustered ${randomUUID().slice(0, 6)}`;
      await admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name: newName });
      const [event] = await sub.waitFor(1, 20_000);
      expect(event!.contactChanged).toMatchObject({ type: 'UPDATED', id, contact: { name: newName } });
      expect(warm.data!.contact.name).not.toBe(newName);
      const after = await stack.query<{ contact: { name: string } }>(CONTACT, { id });
      expect(after.data!.contact.name).toBe(newName);

      // A later subscriber resuming from the same cursor replays the change from the sharded log.
      const resumed = await subscribe<ContactChange>(stack.gateway.url, stack.apiKey, CONTACT_SUB, { after: data!.changeCursor });
      try {
        const [replayed] = await resumed.waitFor(1, 20_000);
        expect(replayed!.contactChanged.cursor).toBe(event!.contactChanged.cursor);
      } finally {
        await resumed.close();
      }
      expect(sub.received).toHaveLength(1);
    } finally {
      await sub.close();
    }
  });

  it('token refresh: a runtime OAuth connection with an expired token, 10 + 10 queries on two replicas → exactly 1 refresh', async () => {
    const session = await graphql<{ createConnectSession: { url: string } }>(
      stack.gateway.url,
      BETA_KEY,
      `
        mutation {
          createConnectSession(connector: "hubspot") {
            url
          }
        }
      `,
    );
    expect(session.errors).toBeUndefined();
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    expect(start.status).toBe(303);
    const consent = await browser(start.headers.get('location')!, { redirect: 'manual' });
    const done = await browser(consent.headers.get('location')!, { redirect: 'manual' });
    expect(done.status).toBe(200);
    const connectionId = ((await done.json()) as { connectionId: string }).connectionId;

    const vault = stack.gateway.services.vault;
    const before = (await vault.get<TokenRecord>('beta', connectionId))!;
    await vault.put('beta', connectionId, { ...before, expiresAt: Date.now() - 1000 });
    const grantsBefore = stack.hubspot.oauth.successfulGrants('refresh_token');
    const results = await Promise.all(
      [stack.gateway.url, replicaB.url].flatMap((url) =>
        Array.from({ length: 10 }, () => graphql<{ contacts: { nodes: unknown[] } }>(url, BETA_KEY, CONTACTS, { id: connectionId })),
      ),
    );
    expect(results.filter((r) => r.errors || r.data?.contacts.nodes.length !== 2)).toEqual([]);
    expect(stack.hubspot.oauth.successfulGrants('refresh_token') - grantsBefore).toBe(1);
    const after = (await replicaB.services.vault.get<TokenRecord>('beta', connectionId))!;
    expect(after.accessToken).not.toBe(before.accessToken);
  });
});
