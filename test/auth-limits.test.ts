// Auth edges of issue 13: failed authentications are limited per client address and per key
// prefix (429 + Retry-After, a metric, a log line; shared through Redis); webhook URLs answer an
// unknown connection exactly like a bad signature, and a malformed path with 400; guessable
// tenants-file keys and a plain-http JWKS URL are refused at startup in production.
import { request } from 'node:http';
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Registry } from 'prom-client';
import Stripe from 'stripe';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AuthFailureLimiter } from '../src/callers/auth-failures.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { ConfigError, defaultGatewayConfig, parseEnv } from '../src/config.ts';
import { createGateway } from '../src/server.ts';
import { REDIS_URL, RUN_PREFIX, counterValue, startStack, type Stack } from './helpers.ts';

const STRIPE_SECRET = 'whsec_auth_limits_test_0000000000';
let stack: Stack;
let base: string;

beforeAll(async () => {
  stack = await startStack({ scale: { contacts: 3, invoices: 1, orders: 1 } });
  const acme = stack.gateway.services.config.tenants[0]!;
  const stripe = acme.connections.find((c) => c.provider === 'stripe')!;
  stripe.webhookSecret = { type: 'static', token: STRIPE_SECRET };
  stack.gateway.services.config.limits.authFailureLimit = 5;
  base = stack.gateway.url.replace(/\/graphql$/, '');
});
afterAll(async () => {
  await stack?.stop();
});

/** POST /graphql from a chosen loopback source address (Linux routes all of 127/8 to lo). */
function graphqlFrom(address: string, key: string): Promise<{ status: number; retryAfter: string | undefined; body: string }> {
  const url = new URL(stack.gateway.url);
  const payload = JSON.stringify({ query: '{ __typename }' });
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        method: 'POST',
        localAddress: address,
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: res.headers['retry-after'], body }));
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

describe('failed-authentication limiting', () => {
  it('per client address: after the limit every attempt from it is 429 with Retry-After, even with a valid key; others are unaffected', async () => {
    const limitedBefore = await counterValue(stack.gateway, 'switchboard_auth_failures_total', { outcome: 'limited' });
    for (let i = 0; i < 5; i++) expect((await graphqlFrom('127.0.0.3', `wrong-${randomUUID()}`)).status).toBe(401);
    const locked = await graphqlFrom('127.0.0.3', stack.apiKey);
    expect(locked.status).toBe(429);
    expect(Number(locked.retryAfter)).toBeGreaterThanOrEqual(1);
    expect(Number(locked.retryAfter)).toBeLessThanOrEqual(60);
    expect(JSON.parse(locked.body).errors[0].extensions.code).toBe('RATE_LIMITED');
    expect(await counterValue(stack.gateway, 'switchboard_auth_failures_total', { outcome: 'limited' })).toBe(limitedBefore + 1);
    expect((await graphqlFrom('127.0.0.4', stack.apiKey)).status).toBe(200);
  });

  it('per key prefix: guesses at one runtime key id from many addresses lock that id, not other keys', async () => {
    const issued = await stack.gateway.services.apiKeys.create('acme', { scopes: ['read'] });
    const other = await stack.gateway.services.apiKeys.create('acme', { scopes: ['read'] });
    const guess = () => `sbk_${issued.info.id}_${randomUUID().replace(/-/g, '').padEnd(43, 'A').slice(0, 43)}`;
    for (let i = 0; i < 5; i++) expect((await graphqlFrom(`127.0.1.${10 + i}`, guess())).status).toBe(401);
    const locked = await graphqlFrom('127.0.1.30', issued.key);
    expect(locked.status).toBe(429);
    expect((await graphqlFrom('127.0.1.30', other.key)).status).toBe(200);
  });

  it('the counts are shared through Redis: a second limiter (another replica) sees the first one’s failures', async () => {
    const redisA = new Redis(REDIS_URL);
    const redisB = new Redis(REDIS_URL);
    const lines: string[] = [];
    try {
      const prefix = `${RUN_PREFIX}:limits:${randomUUID().slice(0, 6)}`;
      const settings = () => ({ limit: 3, windowSeconds: 60, opTimeoutMs: 2_000 });
      const log = { warn: (_o: object, msg: string) => void lines.push(msg) };
      const a = new AuthFailureLimiter(redisA, prefix, settings, new Registry(), log);
      const b = new AuthFailureLimiter(redisB, prefix, settings, new Registry(), log);
      const attempt = { address: '10.0.0.1', keyPrefix: null };
      for (let i = 0; i < 3; i++) await a.fail(attempt);
      await expect(b.check(attempt)).rejects.toMatchObject({ extensions: { code: 'RATE_LIMITED' } });
      await expect(b.check({ address: '10.0.0.2', keyPrefix: null })).resolves.toBeUndefined();
      expect(lines).toEqual([expect.stringMatching(/reached the limit/)]);
    } finally {
      redisA.disconnect();
      redisB.disconnect();
    }
  });
});

describe('webhook URLs', () => {
  const stripeSdk = new Stripe('sk_test_unused');
  const payload = JSON.stringify({ id: 'evt_x', object: 'event', type: 'customer.updated', data: { object: { id: 'cus_x', object: 'customer' } } });
  const post = (path: string, signature: string | null) =>
    fetch(`${base}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(signature === null ? {} : { 'stripe-signature': signature }) },
      body: payload,
    });

  it('an unknown connection answers exactly like a wrong signature on an existing one', async () => {
    const wrong = stripeSdk.webhooks.generateTestHeaderString({ payload, secret: 'whsec_wrong' });
    for (const signature of [wrong, null, 't=1,v1=abc']) {
      const existing = await post('/webhooks/stripe/acme-stripe', signature);
      const unknown = await post('/webhooks/stripe/no-such-connection', signature);
      expect(unknown.status).toBe(existing.status);
      expect(await unknown.text()).toBe(await existing.text());
    }
    expect((await post('/webhooks/stripe/acme-stripe', wrong)).status).toBe(401);
  });

  it('a malformed percent-escape in the path is 400, not 500', async () => {
    const res = await post('/webhooks/stripe/%E0%A4%A', null);
    expect(res.status).toBe(400);
    expect(((await res.json()) as { code: string }).code).toBe('BAD_REQUEST');
  });
});

describe('startup checks (production)', () => {
  it('refuses tenants-file keys whose digest is that of a guessable key', async () => {
    const tenants = [{ id: 't', apiKeys: [{ id: 'weak', sha256: hashApiKey('test') }], connections: [] }];
    await expect(createGateway(defaultGatewayConfig(tenants, { mode: 'production' }))).rejects.toThrow(/API key weak: its sha256 is that of a guessable key/);
  });

  it('refuses a plain-http JWKS URL in production', () => {
    const env = {
      NODE_ENV: 'production',
      SWITCHBOARD_JWT_ISSUER: 'https://auth.example.com/',
      SWITCHBOARD_JWT_AUDIENCE: 'switchboard',
      SWITCHBOARD_JWT_JWKS_URL: 'http://auth.example.com/jwks.json',
    };
    expect(() => parseEnv(env)).toThrow(ConfigError);
    expect(() => parseEnv(env)).toThrow(/must be an https:\/\/ URL in production/);
    expect(() => parseEnv({ ...env, SWITCHBOARD_JWT_JWKS_URL: 'https://auth.example.com/jwks.json' })).not.toThrow();
  });
});
