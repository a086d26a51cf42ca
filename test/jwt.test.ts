// JWT bearer tokens from a trusted issuer, verified against its JWKS (served here on loopback):
// accepted for HTTP and graphql-ws; wrong issuer, wrong audience, expired, missing or unknown
// tenant claim, wrong key → 401 UNAUTHENTICATED.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SignJWT, exportJWK, generateKeyPair, type CryptoKey } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, subscribe, type Stack } from './helpers.ts';

const ISSUER = 'https://auth.example.test/';
const AUDIENCE = 'switchboard';

describe('JWT client authentication', () => {
  let jwks: Server;
  let stack: Stack;
  let key: CryptoKey;
  let otherKey: CryptoKey;
  beforeAll(async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    key = pair.privateKey;
    ({ privateKey: otherKey } = await generateKeyPair('ES256'));
    const jwk = { ...(await exportJWK(pair.publicKey)), kid: 'k1', alg: 'ES256', use: 'sig' };
    jwks = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ keys: [jwk] }));
    });
    await new Promise<void>((r) => jwks.listen(0, '127.0.0.1', r));
    const jwksUrl = `http://127.0.0.1:${(jwks.address() as AddressInfo).port}/jwks.json`;
    stack = await startStack({
      redisUrl: null,
      scale: { contacts: 5, invoices: 5, orders: 5 },
      config: { jwt: { issuer: ISSUER, audience: AUDIENCE, jwksUrl, tenantClaim: 'https://switchboard/tenant', clockToleranceSeconds: 0 } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
    jwks?.closeAllConnections();
    await new Promise((r) => jwks?.close(r));
  });

  const token = (claims: Record<string, unknown>, options: { issuer?: string; audience?: string; exp?: string | number; signWith?: CryptoKey } = {}) =>
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', kid: 'k1' })
      .setIssuer(options.issuer ?? ISSUER)
      .setAudience(options.audience ?? AUDIENCE)
      .setIssuedAt()
      .setExpirationTime(options.exp ?? '5m')
      .sign(options.signWith ?? key);

  const Q = '{ contacts(first: 2) { nodes { id } } }';

  it('accepts a valid token naming a configured tenant', async () => {
    const res = await stack.query<{ contacts: { nodes: unknown[] } }>(Q, {}, await token({ 'https://switchboard/tenant': 'acme' }));
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts.nodes).toHaveLength(2);
  });

  it.each([
    ['a wrong issuer', () => token({ 'https://switchboard/tenant': 'acme' }, { issuer: 'https://evil.example/' }), /"iss" claim/],
    ['a wrong audience', () => token({ 'https://switchboard/tenant': 'acme' }, { audience: 'someone-else' }), /"aud" claim/],
    ['an expired token', () => token({ 'https://switchboard/tenant': 'acme' }, { exp: Math.floor(Date.now() / 1000) - 60 }), /expired/],
    ['no tenant claim', () => token({ sub: 'user-1' }), /no "https:\/\/switchboard\/tenant" claim/],
    ['an unknown tenant', () => token({ 'https://switchboard/tenant': 'nobody' }), /tenant is not configured/],
    ['a signature by another key', () => token({ 'https://switchboard/tenant': 'acme' }, { signWith: otherKey }), /could not be verified/],
  ])('rejects %s with 401 UNAUTHENTICATED', async (_label, make, message) => {
    const res = await stack.query(Q, {}, await make());
    expect(res.status).toBe(401);
    expect(res.errors?.[0]?.extensions?.code).toBe('UNAUTHENTICATED');
    expect(res.errors?.[0]?.message).toMatch(message);
  });

  it('accepts the same token in graphql-ws connectionParams, and closes the socket for a bad one', async () => {
    const good = await subscribe(stack.gateway.url, await token({ 'https://switchboard/tenant': 'acme' }), '{ changeCursor }');
    await good.waitFor(1);
    await good.close();
    const bad = await subscribe(stack.gateway.url, await token({ 'https://switchboard/tenant': 'acme' }, { audience: 'x' }), '{ changeCursor }');
    await expect(bad.waitFor(1, 5_000)).rejects.toThrow(/4403/);
    await bad.close();
  });
});
