// Disconnect and reconnect edges (issue 13): a reconnect revokes the replaced refresh token at the
// provider; disconnecting a connection whose credentials no longer decrypt says the grant was not
// revoked; disconnecting a Stripe account another tenant also connected answers like any
// disconnect without revocation (it must not reveal the other tenant).
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TokenRecord } from '../src/accounts/token-manager.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { startAuthStack, type AuthStack } from './auth-support.ts';
import { REDIS_URL, cookieBrowser, startConnect } from './helpers.ts';

const GAMMA_KEY = `sb_gamma_${randomUUID()}`;
let s: AuthStack;

beforeAll(async () => {
  s = await startAuthStack({ extraTenants: [{ id: 'gamma', apiKeys: [{ id: 'g1', sha256: hashApiKey(GAMMA_KEY) }], connections: [] }] });
});
afterAll(async () => {
  await s?.stack.stop();
});

async function connect(key: string, connector: string, reconnect?: string): Promise<string> {
  const browser = cookieBrowser();
  const made = await s.stack.query<{ createConnectSession: { url: string } }>(
    `mutation($c: String!, $re: ID) { createConnectSession(connector: $c, reconnect: $re) { url } }`,
    { c: connector, re: reconnect ?? null },
    key,
  );
  expect(made.errors).toBeUndefined();
  const started = await startConnect(browser, made.data!.createConnectSession.url);
  const consent = await browser(started.headers.get('location')!);
  const done = await browser(consent.headers.get('location')!);
  expect(done.status).toBe(200);
  return ((await done.json()) as { connectionId: string }).connectionId;
}

const DISCONNECT = `mutation($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider message } }`;

describe('disconnect and reconnect', () => {
  it('a reconnect revokes the refresh token it replaces', async () => {
    const id = await connect(s.betaKey, 'hubspot');
    const before = (await s.stack.gateway.services.vault.get<TokenRecord>('beta', id))!;
    expect(await connect(s.betaKey, 'hubspot', id)).toBe(id);
    const after = (await s.stack.gateway.services.vault.get<TokenRecord>('beta', id))!;
    expect(after.refreshToken).not.toBe(before.refreshToken);
    expect((await fetch(`${s.stack.hubspot.url}/oauth/v1/refresh-tokens/${before.refreshToken}`)).status).toBe(404);
    expect((await fetch(`${s.stack.hubspot.url}/oauth/v1/refresh-tokens/${after.refreshToken}`)).status).toBe(200);
  });

  it('disconnecting a connection whose credentials do not decrypt says the grant was not revoked', async () => {
    const id = await connect(s.betaKey, 'hubspot');
    const record = (await s.stack.gateway.services.vault.get<TokenRecord>('beta', id))!;
    const admin = new Redis(REDIS_URL);
    try {
      const [key] = (await admin.keys(`${s.stack.gateway.services.config.keyPrefix}:vault*`)).filter((k) => k.includes(`beta:${id}`));
      const envelope = JSON.parse((await admin.get(key!))!) as { value: { ct: string } };
      const ct = Buffer.from(envelope.value.ct, 'base64');
      ct[0] = (ct[0] as number) ^ 1;
      envelope.value.ct = ct.toString('base64');
      await admin.set(key!, JSON.stringify(envelope));
    } finally {
      admin.disconnect();
    }
    const res = await s.beta<{ disconnect: { revokedAtProvider: boolean; message: string } }>(DISCONNECT, { id });
    expect(res.data!.disconnect.revokedAtProvider).toBe(false);
    expect(res.data!.disconnect.message).toMatch(/could not be decrypted, so access was NOT revoked/);
    expect(res.data!.disconnect.message).not.toMatch(/^credentials deleted$/);
    // Indeed still live at the provider.
    expect((await fetch(`${s.stack.hubspot.url}/oauth/v1/refresh-tokens/${record.refreshToken}`)).status).toBe(200);
    expect(s.logLines.join('\n')).toMatch(/credentials undecryptable, grant not revoked/);
  });

  it('disconnecting a Stripe account that another tenant also connected does not reveal it', async () => {
    const mine = await connect(s.betaKey, 'stripe');
    await connect(GAMMA_KEY, 'stripe');
    const res = await s.beta<{ disconnect: { revokedAtProvider: boolean; message: string } }>(DISCONNECT, { id: mine });
    expect(res.data!.disconnect.revokedAtProvider).toBe(false);
    expect(res.data!.disconnect.message).not.toMatch(/other connection/);
    expect(res.data!.disconnect.message).toBe('the provider offers no revocation here; credentials deleted');
  });
});
