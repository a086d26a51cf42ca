// The Stripe emulator's Connect OAuth endpoints with plain fetch: authorize → redirect → token →
// API call with the connected account's key, refresh, expiry, invalid_grant, rotation, deauthorize.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type StripeEmulatorHandle } from './index.ts';

const PLATFORM_KEY = 'sk_test_platform_0123456789abcdef';
const CLIENT = { clientId: 'ca_EmulatorPlatform1', redirectUris: ['http://127.0.0.1:9/stripe/callback'] };
const REDIRECT = CLIENT.redirectUris[0] as string;

let em: StripeEmulatorHandle;

beforeAll(async () => {
  em = await startEmulator({
    credentials: [PLATFORM_KEY],
    scale: { contacts: 3, invoices: 2, orders: 2 },
    rateLimitPerSecond: 1000,
    oauth: { clients: [CLIENT] },
  });
});
afterAll(async () => {
  await em?.stop();
});
beforeEach(async () => {
  await admin({ rotateRefreshTokens: false });
});

async function admin(body: unknown): Promise<any> {
  const res = await fetch(`${em.url}/__emulator/oauth`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return res.json();
}

const authorize = (params: Record<string, string>) => fetch(`${em.url}/oauth/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });

async function getCode(state = 'st-1'): Promise<string> {
  const res = await authorize({ response_type: 'code', client_id: CLIENT.clientId, scope: 'read_write', state, redirect_uri: REDIRECT });
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  expect(location.searchParams.get('state')).toBe(state);
  expect(location.searchParams.get('scope')).toBe('read_write');
  return location.searchParams.get('code') ?? '';
}

async function post(
  path: string,
  form: Record<string, string>,
  authorization: string | null = `Bearer ${PLATFORM_KEY}`,
): Promise<{ status: number; body: any }> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (authorization) headers.authorization = authorization;
  const res = await fetch(`${em.url}${path}`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: res.status, body: await res.json() };
}

const api = (key: string) => fetch(`${em.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${key}` } });

async function connect() {
  const res = await post('/oauth/token', { grant_type: 'authorization_code', code: await getCode() });
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string; stripe_user_id: string };
}

describe('Stripe emulator Connect OAuth', () => {
  it('runs authorize → token → API call with the connected account key', async () => {
    const code = await getCode('abc');
    expect(code).toMatch(/^ac_/);
    em.resetRequests();
    // Basic auth with the platform key as user name works like Bearer.
    const res = await post('/oauth/token', { grant_type: 'authorization_code', code }, `Basic ${Buffer.from(`${PLATFORM_KEY}:`).toString('base64')}`);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'bearer', scope: 'read_write', livemode: false, stripe_user_id: 'acct_1EmulatorConnect' });
    expect(res.body.access_token).toMatch(/^sk_test_/);
    expect(res.body.refresh_token).toMatch(/^rt_/);
    expect(res.body.stripe_publishable_key).toMatch(/^pk_test_/);
    expect(res.body.expires_in).toBeUndefined();
    expect(em.count('oauth.token')).toBe(1);
    const call = await api(res.body.access_token);
    expect(call.status).toBe(200);
    expect(((await call.json()) as { data: unknown[] }).data).toHaveLength(1);
    expect((await api(PLATFORM_KEY)).status).toBe(200);
  });

  it('requires the platform secret key on /oauth/token', async () => {
    const code = await getCode();
    const none = await post('/oauth/token', { grant_type: 'authorization_code', code }, null);
    expect(none.status).toBe(401);
    expect(none.body.error).toBe('invalid_client');
    const wrong = await post('/oauth/token', { grant_type: 'authorization_code', code }, 'Bearer sk_test_wrongwrongwrongwrong');
    expect(wrong.status).toBe(401);
    // The code was not consumed by the refused calls.
    expect((await post('/oauth/token', { grant_type: 'authorization_code', code })).status).toBe(200);
  });

  it('refreshes, counting exactly one refresh; the refresh token is kept by default', async () => {
    const t = await connect();
    em.oauth.resetGrants();
    const res = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBe(t.refresh_token);
    expect(res.body.access_token).not.toBe(t.access_token);
    expect(em.oauth.successfulGrants('refresh_token')).toBe(1);
    expect((await api(res.body.access_token)).status).toBe(200);
  });

  it('answers 401 for an expired access token', async () => {
    const t = await connect();
    await admin({ expireAccessToken: t.access_token });
    const res = await api(t.access_token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/^Expired API Key provided/);
  });

  it('expires access tokens after the optional TTL', async () => {
    const short = await startEmulator({
      credentials: [PLATFORM_KEY],
      scale: { contacts: 1, invoices: 1, orders: 1 },
      oauth: { clients: [CLIENT], accessTokenTtlSeconds: 1 },
    });
    try {
      const loc = new URL(
        (
          await fetch(`${short.url}/oauth/authorize?${new URLSearchParams({ response_type: 'code', client_id: CLIENT.clientId, scope: 'read_only' })}`, {
            redirect: 'manual',
          })
        ).headers.get('location') ?? '',
      );
      expect(`${loc.origin}${loc.pathname}`).toBe(REDIRECT);
      const res = await fetch(`${short.url}/oauth/token`, {
        method: 'POST',
        headers: { authorization: `Bearer ${PLATFORM_KEY}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ grant_type: 'authorization_code', code: loc.searchParams.get('code') ?? '' }),
      });
      const body = (await res.json()) as { access_token: string; expires_in: number; scope: string };
      expect(body).toMatchObject({ expires_in: 1, scope: 'read_only' });
      const call = () => fetch(`${short.url}/v1/customers`, { headers: { authorization: `Bearer ${body.access_token}` } });
      expect((await call()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await call()).status).toBe(401);
    } finally {
      await short.stop();
    }
  });

  it('answers invalid_grant for a reused code (revoking its tokens) and an unknown refresh token', async () => {
    const code = await getCode();
    const ok = await post('/oauth/token', { grant_type: 'authorization_code', code });
    expect(ok.status).toBe(200);
    const again = await post('/oauth/token', { grant_type: 'authorization_code', code });
    expect(again.status).toBe(400);
    expect(again.body).toEqual({ error: 'invalid_grant', error_description: expect.any(String) });
    expect((await api(ok.body.access_token)).status).toBe(401);
    const unknown = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: 'rt_nope' });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toBe('invalid_grant');
    expect((await post('/oauth/token', { grant_type: 'authorization_code', code: 'ac_nope' })).body.error).toBe('invalid_grant');
    expect((await post('/oauth/token', { grant_type: 'password' })).body.error).toBe('unsupported_grant_type');
  });

  it('rotates refresh tokens when the switch is on', async () => {
    const t = await connect();
    await admin({ rotateRefreshTokens: true });
    const rotated = await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token });
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(t.refresh_token);
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token })).body.error).toBe('invalid_grant');
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: rotated.body.refresh_token })).status).toBe(200);
  });

  it('deauthorizes: revokes the account tokens and answers {stripe_user_id}', async () => {
    const t = await connect();
    const res = await post('/oauth/deauthorize', { client_id: CLIENT.clientId, stripe_user_id: t.stripe_user_id });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({ stripe_user_id: t.stripe_user_id });
    expect((await api(t.access_token)).status).toBe(401);
    expect((await post('/oauth/token', { grant_type: 'refresh_token', refresh_token: t.refresh_token })).body.error).toBe('invalid_grant');
    const twice = await post('/oauth/deauthorize', { client_id: CLIENT.clientId, stripe_user_id: t.stripe_user_id });
    expect(twice.status).toBe(401);
    expect(twice.body.error).toBe('invalid_client');
  });

  it('refuses unknown clients and unregistered redirect URIs without redirecting', async () => {
    const unknown = await authorize({ response_type: 'code', client_id: 'ca_nobody', scope: 'read_write' });
    expect(unknown.status).toBe(400);
    expect(unknown.headers.get('location')).toBeNull();
    const bad = await authorize({ response_type: 'code', client_id: CLIENT.clientId, scope: 'read_write', redirect_uri: 'https://evil.example/cb' });
    expect(bad.status).toBe(400);
    expect(bad.headers.get('location')).toBeNull();
  });
});
