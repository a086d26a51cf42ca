// One Xero login (one PKCE grant) that covers two organisations becomes two connections sharing
// ONE credential in the vault, across two gateway replicas (two createGateway() instances sharing
// only Redis and the vault key, as in test/connect-replicas.test.ts). Xero rotates refresh tokens
// on every refresh (the emulator revokes the old one at once; real Xero allows a 30-minute grace):
// with a token copy per connection, a refresh through one organisation broke the other's copy.
// Here a refresh through organisation 1 on replica B is what organisation 2 on replica A then reads,
// concurrent refreshes collapse into one, and disconnecting one organisation keeps the credential
// for the other until the last one goes.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StoredCredential } from '../../src/accounts/credentials.ts';
import { hashApiKey } from '../../src/callers/tenants.ts';
import type { Gateway } from '../../src/server.ts';
import { NO_CACHE, RUN_PREFIX, cookieBrowser, freePort, graphql, startConnect, startSecondReplica, startStack, type Stack } from '../../test/helpers.ts';
import { TENANT_SETTING } from './client.ts';
import type { XeroEmulatorHandle } from './emulator/index.ts';

const APP = { clientId: 'XEROSHAREDGRANT000000000000000000', clientSecret: 'xero-shared-grant-secret-000000000000' };
const KEY = `sb_books_${randomUUID()}`;
const INVOICES = 'query ($c: ID!) { invoices(first: 2, filter: { connectionId: $c }) { nodes { source { connectionId } } } }';
type Invoices = { invoices: { nodes: Array<{ source: { connectionId: string } }> } };

let stack: Stack;
let replicaB: Gateway;
let xero: XeroEmulatorHandle;
let ids: string[] = [];

const onA = (c: string) => stack.query<Invoices>(INVOICES, { c }, KEY);
const onB = (c: string) => graphql<Invoices>(replicaB.url, KEY, INVOICES, { c });
const refreshes = () => xero.oauth.book.successfulGrants('refresh_token');

beforeAll(async () => {
  const port = await freePort();
  const prefix = `${RUN_PREFIX}:xero-shared-grant`;
  stack = await startStack({
    oauthClients: { xero: [{ ...APP, redirectUris: [`http://127.0.0.1:${port}/connect/xero/callback`] }] },
    config: { port, keyPrefix: prefix, allowInsecureOAuth: true, cacheTtlSeconds: { ...NO_CACHE } },
    extraTenants: () => [{ id: 'books', apiKeys: [{ id: 'b', sha256: hashApiKey(KEY) }], connections: [] }],
  });
  xero = stack.emulators.get('xero') as XeroEmulatorHandle;
  stack.gateway.services.config.providers.xero = {
    baseUrl: xero.url,
    oauth: {
      clientId: APP.clientId,
      clientSecret: { type: 'static', token: APP.clientSecret },
      authorizationUrl: `${xero.url}/identity/connect/authorize`,
      tokenUrl: `${xero.url}/connect/token`,
      revocationUrl: `${xero.url}/connect/revocation`,
    },
  };
  replicaB = await startSecondReplica(stack);
});
afterAll(async () => {
  await replicaB?.stop();
  await stack?.stop();
});

describe('Xero: one grant, two organisations, one shared credential', () => {
  it('stores the tokens once, and each connection points at them', async () => {
    const browser = cookieBrowser();
    const session = await stack.query<{ createConnectSession: { url: string } }>(
      'mutation { createConnectSession(connector: "xero") { url } }',
      undefined,
      KEY,
    );
    const start = await startConnect(browser, session.data!.createConnectSession.url);
    const consent = await browser(new URL(start.headers.get('location')!));
    const done = await browser(consent.headers.get('location')!);
    expect(done.status).toBe(200);
    ids = ((await done.json()) as { connectionIds: string[] }).connectionIds;
    expect(ids).toHaveLength(2);
    const orgs = await Promise.all(ids.map(async (id) => (await stack.gateway.services.connections.get(id))!.settings[TENANT_SETTING]));
    expect(new Set(orgs).size).toBe(2);

    const vault = stack.gateway.services.vault;
    const pointers = await Promise.all(ids.map((id) => vault.get<StoredCredential>('books', id)));
    expect(pointers.map((p) => p?.kind)).toEqual(['shared', 'shared']);
    const credentialId = (pointers[0] as { credentialId: string }).credentialId;
    expect((pointers[1] as { credentialId: string }).credentialId).toBe(credentialId);
    const shared = await vault.get<StoredCredential & { kind: 'oauth2' }>('books', credentialId);
    expect(shared).toMatchObject({ kind: 'oauth2', sharedBy: ids });
    expect(shared!.refreshToken).toBeTruthy();
  });

  it('a refresh through organisation 1 on replica B is what organisation 2 on replica A reads: no second refresh, no NEEDS_REAUTH', async () => {
    const before = refreshes();
    // Xero expires the access token; both replicas still believe it fresh, so the first call gets a 401.
    xero.oauth.book.configure({ expireAllAccessTokens: true });
    const first = await onB(ids[0]!);
    expect(first.errors).toBeUndefined();
    expect(first.data!.invoices.nodes.map((n) => n.source.connectionId)).toEqual([ids[0], ids[0]]);
    expect(refreshes()).toBe(before + 1);
    // The old refresh token is revoked at Xero now; organisation 2 must use the rotated one.
    const second = await onA(ids[1]!);
    expect(second.errors).toBeUndefined();
    expect(second.data!.invoices.nodes.map((n) => n.source.connectionId)).toEqual([ids[1], ids[1]]);
    expect(refreshes()).toBe(before + 1);
    const statuses = await Promise.all(ids.map(async (id) => (await stack.gateway.services.connections.get(id))!.status));
    expect(statuses).toEqual(['ACTIVE', 'ACTIVE']);
  });

  it('both organisations on both replicas at once after an expiry: exactly one refresh, every query succeeds', async () => {
    const before = refreshes();
    xero.oauth.book.configure({ expireAllAccessTokens: true });
    const results = await Promise.all(ids.flatMap((id) => [onA(id), onB(id), onA(id), onB(id)]));
    expect(results.filter((r) => r.errors !== undefined).map((r) => r.errors)).toEqual([]);
    expect(refreshes()).toBe(before + 1);
  });

  it('disconnecting one organisation keeps the shared credential for the other; the last one deletes and revokes it', async () => {
    const vault = stack.gateway.services.vault;
    const credentialId = (await vault.get<{ kind: 'shared'; credentialId: string }>('books', ids[1]!))!.credentialId;
    const disconnect = (id: string) =>
      graphql<{ disconnect: { revokedAtProvider: boolean } }>(
        replicaB.url,
        KEY,
        'mutation ($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider } }',
        {
          id,
        },
      );
    const first = await disconnect(ids[0]!);
    expect(first.errors).toBeUndefined();
    expect(await vault.get('books', ids[0]!)).toBeNull();
    expect(await vault.get('books', credentialId)).toMatchObject({ sharedBy: [ids[1]] });
    expect(xero.oauth.book.state().liveRefreshTokens).toBeGreaterThan(0);
    const still = await onA(ids[1]!);
    expect(still.errors).toBeUndefined();

    const last = await disconnect(ids[1]!);
    expect(last.data!.disconnect.revokedAtProvider).toBe(true);
    expect(await vault.get('books', credentialId)).toBeNull();
    expect(xero.oauth.book.state().liveRefreshTokens).toBe(0);
  });
});
