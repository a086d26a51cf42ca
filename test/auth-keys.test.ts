// API-key minting and JWT lifetimes (issue 13): an 8-second admin JWT minted a read+subscribe+admin
// key that never expired, a read-only key could list the key inventory, and a JWT without `exp`
// was accepted forever.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { DEFAULT_LIMITS } from '../src/config.ts';
import { REDIS_URL, startStack, type Stack } from './helpers.ts';

const ISSUER = 'https://auth.example.test/';
const AUDIENCE = 'switchboard';
const READ_KEY = `sb_read_${'r'.repeat(40)}`;

let jwks: Server;
let stack: Stack;
let key: CryptoKey;

beforeAll(async () => {
  const pair = await generateKeyPair('ES256', { extractable: true });
  key = pair.privateKey;
  const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
  jwks = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ keys: [jwk] }));
  });
  await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
  const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
  stack = await startStack({
    scale: { contacts: 3, invoices: 1, orders: 1 },
    config: {
      jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUrl, tenantClaim: 'tenant', clockToleranceSeconds: 0 },
      limits: { ...DEFAULT_LIMITS, jwtMaxLifetimeSeconds: 3600, apiKeyDefaultTtlSeconds: 86_400, apiKeyMaxTtlSeconds: 7 * 86_400 },
    },
    extraTenants: () => [{ id: 'reader', apiKeys: [{ id: 'r1', sha256: hashApiKey(READ_KEY), scopes: ['read'] }], connections: [] }],
  });
});
afterAll(async () => {
  await stack?.stop();
  jwks?.closeAllConnections();
  await new Promise((r) => jwks?.close(r));
});

function jwt(claims: Record<string, unknown>, lifetime: number | null): Promise<string> {
  const t = new SignJWT(claims)
    .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject('ops@example.com')
    .setIssuedAt();
  if (lifetime !== null) t.setExpirationTime(Math.floor(Date.now() / 1000) + lifetime);
  return t.sign(key);
}

const MINT = `mutation($s: [ApiKeyScope!], $e: Int) { createApiKey(scopes: $s, expiresInSeconds: $e) { key apiKey { id scopes createdAt expiresAt } } }`;
interface Minted {
  createApiKey: { key: string; apiKey: { id: string; scopes: string[]; createdAt: string; expiresAt: string } };
}

describe('JWT lifetimes', () => {
  it('a JWT without exp is refused (401); so is one whose lifetime exceeds the configured maximum', async () => {
    const forever = await stack.query('{ __typename }', {}, await jwt({ tenant: 'acme' }, null));
    expect(forever.status).toBe(401);
    expect(forever.errors?.[0]?.message).toMatch(/no "exp" claim/);
    const long = await stack.query('{ __typename }', {}, await jwt({ tenant: 'acme' }, 2 * 3600));
    expect(long.status).toBe(401);
    expect(long.errors?.[0]?.message).toMatch(/lifetime exceeds/);
    expect((await stack.query('{ __typename }', {}, await jwt({ tenant: 'acme' }, 600))).status).toBe(200);
  });
});

describe('API-key minting', () => {
  it("a key's scopes must be among the minting credential's own", async () => {
    const readerAdminless = await stack.query(MINT, { s: ['read'] }, READ_KEY);
    // A read-only key cannot run mutations at all (scope check before any resolver).
    expect(readerAdminless.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const narrow = await jwt({ tenant: 'acme', scope: 'read admin' }, 600);
    const wider = await stack.query(MINT, { s: ['read', 'subscribe', 'admin'] }, narrow);
    expect(wider.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(wider.errors?.[0]?.message).toMatch(/lacks subscribe/);
    // The default scopes (read, subscribe) count too.
    expect((await stack.query(MINT, {}, narrow)).errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    const ok = await stack.query<Minted>(MINT, { s: ['read'] }, narrow);
    expect(ok.errors).toBeUndefined();
    expect(ok.data!.createApiKey.apiKey.scopes).toEqual(['read']);
  });

  it('an admin JWT cannot mint a key outliving the configured maximum; keys get the default expiry and stop working after it', async () => {
    const admin = await jwt({ tenant: 'acme', scope: 'read subscribe admin' }, 8);
    const tooLong = await stack.query(MINT, { s: ['read'], e: 8 * 86_400 }, admin);
    expect(tooLong.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(tooLong.errors?.[0]?.message).toMatch(/between 1 and 604800/);

    const minted = await stack.query<Minted>(MINT, { s: ['read', 'subscribe', 'admin'] }, admin);
    expect(minted.errors).toBeUndefined();
    const { key: newKey, apiKey } = minted.data!.createApiKey;
    const lifetime = Date.parse(apiKey.expiresAt) - Date.parse(apiKey.createdAt);
    expect(lifetime).toBe(86_400_000);
    expect((await stack.query('{ __typename }', {}, newKey)).status).toBe(200);

    // Move the stored expiry into the past (as time would): the key no longer authenticates.
    const redis = new Redis(REDIS_URL);
    try {
      const [record] = await redis.keys(`${stack.gateway.services.config.keyPrefix}:apikey:hash:*`).then(async (keys) => {
        const values = await Promise.all(keys.map(async (k) => [k, await redis.get(k)] as const));
        return values.filter(([, v]) => v?.includes(apiKey.id));
      });
      const info = JSON.parse(record![1]!) as { expiresAt: string };
      info.expiresAt = new Date(Date.now() - 1000).toISOString();
      await redis.set(record![0], JSON.stringify(info));
    } finally {
      redis.disconnect();
    }
    const expired = await stack.query('{ __typename }', {}, newKey);
    expect(expired.status).toBe(401);
  });

  it('apiKeys (the key inventory) needs the admin scope', async () => {
    const reader = await stack.query(`{ apiKeys { id } }`, {}, READ_KEY);
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(reader.data).toBeNull();
    const adminList = await stack.query<{ apiKeys: Array<{ id: string; expiresAt: string | null }> }>(`{ apiKeys { id expiresAt } }`);
    expect(adminList.errors).toBeUndefined();
  });
});
