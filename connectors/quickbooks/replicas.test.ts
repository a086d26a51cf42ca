// QuickBooks rotates the refresh token on every refresh (the emulator revokes the old one at once;
// Intuit answers a stale one with invalid_grant). A connection made through the OAuth connect flow is
// served by two gateway replicas (two createGateway() instances sharing only Redis and the vault key,
// as in test/connect-replicas.test.ts): after Intuit expires the access token, concurrent queries on
// both replicas cause exactly one refresh, every query succeeds, and the vault holds the rotated
// refresh token, which the next expiry's refresh then uses (on the other replica).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCredential } from '../../src/accounts/credentials.ts';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { encodeId } from '../../src/ids.ts';
import type { Gateway } from '../../src/server.ts';
import { NO_CACHE, RUN_PREFIX, cookieBrowser, freePort, graphql, startConnect, startSecondReplica, startStack, type Stack } from '../../test/helpers.ts';
import type { QboEmulatorHandle } from './emulator/index.ts';

const APP = { clientId: 'ABreplicaTestClient0000000000000000', clientSecret: 'replica-test-secret-0000000000000' };
const KEY = `sb_qbor_${randomUUID()}`;
const CONTACT = 'query ($id: ID!) { node(id: $id) { id ... on Contact { name } } }';
type Contact = { node: { id: string; name: string | null } | null };

let stack: Stack;
let replicaB: Gateway;
let qbo: QboEmulatorHandle;
let connectionId = '';

const read = (url: string, remoteId: string) => graphql<Contact>(url, KEY, CONTACT, { id: encodeId('Contact', connectionId, remoteId) });
const refreshes = () => qbo.oauth.book.successfulGrants('refresh_token');
const storedRefreshToken = async () =>
  (await stack.gateway.services.vault.get<StoredCredential & { kind: 'oauth2' }>('qbor', connectionId))?.refreshToken ?? null;

beforeAll(async () => {
  const port = await freePort();
  const prefix = `${RUN_PREFIX}:qbo-replicas`;
  stack = await startStack({
    scale: { contacts: 12, invoices: 2, orders: 2 },
    oauthClients: { quickbooks: [{ ...APP, redirectUris: [`http://127.0.0.1:${port}/connect/quickbooks/callback`] }] },
    config: { port, keyPrefix: prefix, allowInsecureOAuth: true, cacheTtlSeconds: { ...NO_CACHE } },
    extraTenants: () => [{ id: 'qbor', apiKeys: [{ id: 'k', sha256: hashApiKey(KEY) }], connections: [] }],
  });
  qbo = stack.emulators.get('quickbooks') as QboEmulatorHandle;
  stack.gateway.services.config.providers.quickbooks = {
    baseUrl: qbo.url,
    oauth: {
      clientId: APP.clientId,
      clientSecret: { type: 'static', token: APP.clientSecret },
      authorizationUrl: `${qbo.url}/connect/oauth2`,
      tokenUrl: `${qbo.url}/oauth2/v1/tokens/bearer`,
      revocationUrl: `${qbo.url}/v2/oauth2/tokens/revoke`,
    },
  };
  replicaB = await startSecondReplica(stack);
});
afterAll(async () => {
  await replicaB?.stop();
  await stack?.stop();
});

describe('QuickBooks: rotating refresh tokens across two replicas', () => {
  it('connects through OAuth on replica A', async () => {
    const browser = cookieBrowser();
    const session = await stack.query<{ createConnectSession: { url: string } }>(
      'mutation { createConnectSession(connector: "quickbooks") { url } }',
      undefined,
      KEY,
    );
    expect(session.errors).toBeUndefined();
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    const consent = await browser(new URL(start.headers.get('location')!));
    const done = await browser(consent.headers.get('location')!);
    expect(done.status).toBe(200);
    connectionId = ((await done.json()) as { connectionId: string }).connectionId;
    expect((await read(replicaB.url, '1')).data?.node?.name).toBeTruthy();
  });

  it('after an expiry, 10 + 10 concurrent queries on A and B cause exactly one refresh and all succeed; the vault holds the rotated token', async () => {
    const before = refreshes();
    const oldRefresh = await storedRefreshToken();
    expect(oldRefresh).toBeTruthy();
    qbo.oauth.configure({ expireAllAccessTokens: true });
    const ids = Array.from({ length: 10 }, (_, i) => String(i + 1));
    const results = await Promise.all(ids.flatMap((id) => [read(stack.gateway.url, id), read(replicaB.url, id)]));
    expect(results.filter((r) => r.errors !== undefined).map((r) => r.errors)).toEqual([]);
    expect(results.every((r) => r.data?.node?.name)).toBe(true);
    expect(refreshes()).toBe(before + 1);
    const rotated = await storedRefreshToken();
    expect(rotated).toBeTruthy();
    expect(rotated).not.toBe(oldRefresh);
  });

  it('the next expiry refreshes with the rotated token, through the other replica', async () => {
    const before = refreshes();
    qbo.oauth.configure({ expireAllAccessTokens: true });
    const result = await read(replicaB.url, '2');
    expect(result.errors).toBeUndefined();
    expect(result.data?.node?.name).toBeTruthy();
    expect(refreshes()).toBe(before + 1);
    const status = (await stack.gateway.services.connections.get(connectionId))?.status;
    expect(status).toBe('ACTIVE');
  });
});
