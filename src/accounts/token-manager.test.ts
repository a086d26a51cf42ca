// TokenManager against the HubSpot emulator's real OAuth token endpoints and a real Redis: refresh
// stampede across two "processes", rotation, invalid_grant → NEEDS_REAUTH, crashed lock holder.
import { randomBytes, randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type HubSpotEmulatorHandle } from '../../connectors/hubspot/emulator/index.ts';
import { emulatorOAuthAdmin, emulatorTokens } from './testing/emulator-oauth.ts';
import { CredentialVault, createVaultStore, parseMasterKeys, type VaultStore } from './vault.ts';
import { NeedsReauthError, TokenManager, type OAuthClientConfig, type StatusChange, type TokenRecord } from './token-manager.ts';
import { REDIS_URL } from '../../test/test-redis.ts';

const RUN = `tmtest-${randomUUID().slice(0, 8)}`;
const APP = { clientId: 'tm-client', clientSecret: 'tm-secret', redirectUris: ['http://127.0.0.1:9/callback'] };
const TENANT = 'acme';
const keyring = parseMasterKeys(`k1:${randomBytes(32).toString('base64')}`, undefined);

let em: HubSpotEmulatorHandle;
let oauthClient: OAuthClientConfig;
/** One "process": its own vault store (own Redis connection) and its own ioredis connection. */
interface Proc {
  store: VaultStore;
  vault: CredentialVault;
  redis: Redis;
}
const procs: Proc[] = [];
let admin: Redis;

async function newProc(): Promise<Proc> {
  const store = await createVaultStore({ redisUrl: REDIS_URL, namespace: `${RUN}:vault` });
  const redis = new Redis(REDIS_URL, { lazyConnect: true });
  await redis.connect();
  const p = { store, vault: new CredentialVault({ keyv: store.keyv, keyring }), redis };
  procs.push(p);
  return p;
}

function manager(p: Proc, extra: Partial<ConstructorParameters<typeof TokenManager>[0]> = {}): TokenManager {
  return new TokenManager({ vault: p.vault, redis: p.redis, keyPrefix: `${RUN}:token`, ...extra });
}

const emulatorAdmin = (body: unknown) => emulatorOAuthAdmin(em.url, body);
const connect = () => emulatorTokens(em.url, APP);

/** Connects and stores the credential in the vault as already expired. */
async function storeExpired(p: Proc, connectionId: string): Promise<TokenRecord> {
  const t = await connect();
  await emulatorAdmin({ expireAllAccessTokens: true });
  const record: TokenRecord = {
    accessToken: t.access_token,
    refreshToken: t.refresh_token,
    expiresAt: Date.now() - 1000,
    scopes: ['crm.objects.contacts.read'],
  };
  await p.vault.put(TENANT, connectionId, record);
  return record;
}

const apiStatus = async (accessToken: string) =>
  (await fetch(`${em.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } })).status;

/** Refresh tokens sent to the token endpoint by a TokenManager. */
function recordingFetch(sent: string[]) {
  return (async (url: string, init: RequestInit) => {
    const body = new URLSearchParams(String(init.body ?? ''));
    if (body.get('grant_type') === 'refresh_token') sent.push(body.get('refresh_token') ?? '');
    return fetch(url, init);
  }) as never;
}

beforeAll(async () => {
  em = await startEmulator({ credentials: ['pat-static'], scale: { contacts: 2, invoices: 1, orders: 1 }, oauth: { clients: [APP] } });
  oauthClient = { tokenEndpoint: `${em.url}/oauth/v1/token`, clientId: APP.clientId, clientSecret: APP.clientSecret, allowInsecureRequests: true };
  admin = new Redis(REDIS_URL);
});

beforeEach(async () => {
  await emulatorAdmin({ rotateRefreshTokens: false });
  em.oauth.resetGrants();
  em.setLatency(0);
});

afterEach(async () => {
  await Promise.all(
    procs.splice(0).map(async (p) => {
      await p.store.close();
      p.redis.disconnect();
    }),
  );
});

afterAll(async () => {
  if (admin) {
    const keys: string[] = [];
    let cursor = '0';
    do {
      const [next, batch] = await admin.scan(cursor, 'MATCH', `*${RUN}*`, 'COUNT', 500);
      cursor = next;
      keys.push(...batch);
    } while (cursor !== '0');
    if (keys.length) await admin.del(...keys);
    admin.disconnect();
  }
  await em?.stop();
});

describe('TokenManager', () => {
  it('returns a still-valid token without refreshing', async () => {
    const p = await newProc();
    const t = await connect();
    await p.vault.put(TENANT, 'valid', { accessToken: t.access_token, refreshToken: t.refresh_token, expiresAt: Date.now() + 30 * 60_000, scopes: [] });
    expect(await manager(p).accessToken(TENANT, 'valid', oauthClient)).toBe(t.access_token);
    expect(em.oauth.successfulGrants('refresh_token')).toBe(0);
  });

  it('50 concurrent callers across two processes with an expired token cause exactly 1 refresh', async () => {
    const [a, b] = [await newProc(), await newProc()];
    const old = await storeExpired(a, 'stampede');
    em.setLatency(50); // widen the race window
    const [m1, m2] = [manager(a), manager(b)];
    const tokens = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? m1 : m2).accessToken(TENANT, 'stampede', oauthClient)));
    em.setLatency(0);
    expect(em.oauth.successfulGrants('refresh_token')).toBe(1);
    expect(em.oauth.grants().filter((g) => g.grantType === 'refresh_token')).toHaveLength(1);
    expect(new Set(tokens).size).toBe(1);
    expect(tokens[0]).not.toBe(old.accessToken);
    expect(await apiStatus(tokens[0]!)).toBe(200);
    expect(await apiStatus(old.accessToken)).toBe(401);
    const stored = await b.vault.get<TokenRecord>(TENANT, 'stampede');
    expect(stored?.accessToken).toBe(tokens[0]);
    expect(Number(stored?.expiresAt)).toBeGreaterThan(Date.now() + 25 * 60_000);
    expect(await a.redis.exists(m1.lockKey(TENANT, 'stampede'))).toBe(0); // released
  });

  it('rotation: persists the new refresh token and never sends the old one again', async () => {
    await emulatorAdmin({ rotateRefreshTokens: true });
    const p = await newProc();
    const sent: string[] = [];
    const m = manager(p, { fetch: recordingFetch(sent) });
    const old = await storeExpired(p, 'rotating');

    const first = await m.accessToken(TENANT, 'rotating', oauthClient);
    const afterFirst = (await p.vault.get<TokenRecord>(TENANT, 'rotating'))!;
    expect(afterFirst.accessToken).toBe(first);
    expect(afterFirst.refreshToken).not.toBe(old.refreshToken);
    // The emulator revoked the old one: using it now fails.
    const reuse = await fetch(oauthClient.tokenEndpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'refresh_token', client_id: APP.clientId, client_secret: APP.clientSecret, refresh_token: old.refreshToken }),
    });
    expect(reuse.status).toBe(400);
    expect(((await reuse.json()) as { error: string }).error).toBe('invalid_grant');

    // The provider rejects the token once (401) → forceRefresh uses the rotated refresh token.
    const second = await m.forceRefresh(TENANT, 'rotating', oauthClient, first);
    expect(second).not.toBe(first);
    expect(await apiStatus(second)).toBe(200);
    const afterSecond = (await p.vault.get<TokenRecord>(TENANT, 'rotating'))!;
    expect(afterSecond.refreshToken).not.toBe(afterFirst.refreshToken);
    expect(sent).toEqual([old.refreshToken, afterFirst.refreshToken]);
    expect(
      em.oauth
        .grants()
        .filter((g) => g.grantType === 'refresh_token' && g.clientId === APP.clientId)
        .map((g) => g.error),
    ).toEqual([null, 'invalid_grant', null]);
  });

  it('invalid_grant marks the connection NEEDS_REAUTH, calls onStatusChange, and stops refreshing', async () => {
    const p = await newProc();
    const changes: StatusChange[] = [];
    const m = manager(p, { onStatusChange: (c) => void changes.push(c) });
    const old = await storeExpired(p, 'revoked');
    await emulatorAdmin({ revokeRefreshToken: old.refreshToken });

    const results = await Promise.allSettled(Array.from({ length: 5 }, () => m.accessToken(TENANT, 'revoked', oauthClient)));
    for (const r of results) {
      expect(r.status).toBe('rejected');
      const err = (r as PromiseRejectedResult).reason as NeedsReauthError;
      expect(err).toBeInstanceOf(NeedsReauthError);
      expect(err.code).toBe('NEEDS_REAUTH');
      expect(err.message).toMatch(/needs to be re-authorized.*invalid_grant/);
      expect(err.message).not.toContain(old.refreshToken);
      expect(err.message).not.toContain(old.accessToken);
    }
    expect(changes).toEqual([{ tenantId: TENANT, connectionId: 'revoked', status: 'NEEDS_REAUTH', reason: expect.stringContaining('invalid_grant') }]);
    expect((await p.vault.get<TokenRecord>(TENANT, 'revoked'))?.status).toBe('NEEDS_REAUTH');
    const attempts = em.oauth.grants().length;
    await expect(manager(p).accessToken(TENANT, 'revoked', oauthClient)).rejects.toBeInstanceOf(NeedsReauthError);
    expect(em.oauth.grants().length).toBe(attempts); // no further token requests
  });

  it('a crashed lock holder blocks others only until its lease expires', async () => {
    const p = await newProc();
    const leaseMs = 800;
    const m = manager(p, { leaseMs });
    await storeExpired(p, 'crashed');
    // A "process" takes the lock with a fence and dies without releasing it.
    const staleFence = await p.redis.incr(m.fenceKey(TENANT, 'crashed'));
    expect(await p.redis.set(m.lockKey(TENANT, 'crashed'), String(staleFence), 'PX', leaseMs, 'NX')).toBe('OK');

    const started = Date.now();
    const tokens = await Promise.all(Array.from({ length: 10 }, () => m.accessToken(TENANT, 'crashed', oauthClient)));
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(leaseMs - 100);
    expect(waited).toBeLessThan(leaseMs + 3000);
    expect(new Set(tokens).size).toBe(1);
    expect(em.oauth.successfulGrants('refresh_token')).toBe(1);
    expect(await apiStatus(tokens[0]!)).toBe(200);
    // The new holder's fence superseded the crashed one's.
    expect(Number(await p.redis.get(m.fenceKey(TENANT, 'crashed')))).toBeGreaterThan(staleFence);
  });
});
