// The HubSpot emulator's OAuth endpoints, exercised with plain fetch like a real client would:
// authorize → redirect → token → API call, refresh, expiry, invalid_grant paths, rotation switch.
import { createHash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { startEmulator, type HubSpotEmulatorHandle } from './index.ts';

const CLIENT = { clientId: 'hs-client-1', clientSecret: 'hs-secret-1', redirectUris: ['http://127.0.0.1:9/callback'], scopes: ['crm.objects.contacts.read'] };
const REDIRECT = CLIENT.redirectUris[0] as string;
const SCOPE = 'crm.objects.contacts.read crm.objects.invoices.read';

let em: HubSpotEmulatorHandle;

beforeAll(async () => {
  em = await startEmulator({ credentials: ['pat-static'], scale: { contacts: 5, invoices: 2, orders: 2 }, oauth: { clients: [CLIENT] } });
});
afterAll(async () => {
  await em?.stop();
});
beforeEach(async () => {
  await admin({ rotateRefreshTokens: false });
});

const pkce = () => {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
};

async function admin(body: unknown): Promise<any> {
  const res = await fetch(`${em.url}/__emulator/oauth`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  expect(res.status).toBe(200);
  return res.json();
}

async function authorize(params: Record<string, string>): Promise<Response> {
  return fetch(`${em.url}/oauth/authorize?${new URLSearchParams(params)}`, { redirect: 'manual' });
}

/** Authorize and return the code from the redirect's Location. */
async function getCode(challenge?: string, state = 'st-' + randomBytes(4).toString('hex')): Promise<string> {
  const params: Record<string, string> = { client_id: CLIENT.clientId, redirect_uri: REDIRECT, scope: SCOPE, state };
  if (challenge) Object.assign(params, { code_challenge: challenge, code_challenge_method: 'S256' });
  const res = await authorize(params);
  expect(res.status).toBe(302);
  const location = new URL(res.headers.get('location') ?? '');
  expect(`${location.origin}${location.pathname}`).toBe(REDIRECT);
  expect(location.searchParams.get('state')).toBe(state);
  const code = location.searchParams.get('code');
  expect(code).toBeTruthy();
  return code as string;
}

async function token(path: string, form: Record<string, string>): Promise<{ status: number; body: any }> {
  const res = await fetch(`${em.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  return { status: res.status, body: await res.json() };
}

const codeForm = (code: string, extra: Record<string, string> = {}) => ({
  grant_type: 'authorization_code',
  client_id: CLIENT.clientId,
  client_secret: CLIENT.clientSecret,
  redirect_uri: REDIRECT,
  code,
  ...extra,
});
const refreshForm = (refreshToken: string) => ({
  grant_type: 'refresh_token',
  client_id: CLIENT.clientId,
  client_secret: CLIENT.clientSecret,
  refresh_token: refreshToken,
});

const api = (accessToken: string) => fetch(`${em.url}/crm/v3/objects/contacts?limit=1`, { headers: { authorization: `Bearer ${accessToken}` } });

async function connect(path = '/oauth/2026-03/token') {
  const { verifier, challenge } = pkce();
  const code = await getCode(challenge);
  const res = await token(path, codeForm(code, { code_verifier: verifier }));
  expect(res.status).toBe(200);
  return res.body as { access_token: string; refresh_token: string; expires_in: number };
}

describe('HubSpot emulator OAuth', () => {
  it('runs the authorization-code flow with PKCE against the 2026-03 endpoint, and the token calls the API', async () => {
    const { verifier, challenge } = pkce();
    const code = await getCode(challenge, 'xyz');
    em.resetRequests();
    const res = await token('/oauth/2026-03/token', codeForm(code, { code_verifier: verifier }));
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ token_type: 'bearer', token_use: 'access_token', expires_in: 1800, hub_id: em.portalId, scopes: SCOPE.split(' ') });
    expect(typeof res.body.access_token).toBe('string');
    expect(typeof res.body.refresh_token).toBe('string');
    expect(em.count('oauth.token')).toBe(1);

    const call = await api(res.body.access_token);
    expect(call.status).toBe(200);
    expect(((await call.json()) as { results: unknown[] }).results).toHaveLength(1);
    // Static credentials keep working alongside issued tokens.
    expect((await api('pat-static')).status).toBe(200);
  });

  it('answers the v1 shape on /oauth/v1/token', async () => {
    const code = await getCode();
    const res = await token('/oauth/v1/token', codeForm(code));
    expect(res.status).toBe(200);
    expect(Object.keys(res.body).sort()).toEqual(['access_token', 'expires_in', 'refresh_token', 'token_type']);
    expect(res.body.expires_in).toBe(1800);
    expect((await api(res.body.access_token)).status).toBe(200);
  });

  it('refreshes without rotating by default, and counts exactly one refresh', async () => {
    const first = await connect('/oauth/v1/token');
    em.oauth.resetGrants();
    em.resetRequests();
    const res = await token('/oauth/v1/token', refreshForm(first.refresh_token));
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBe(first.refresh_token);
    expect(res.body.access_token).not.toBe(first.access_token);
    expect(em.oauth.successfulGrants('refresh_token')).toBe(1);
    expect(em.count('oauth.token')).toBe(1);
    expect((await api(res.body.access_token)).status).toBe(200);
    // The same refresh token still works.
    expect((await token('/oauth/v1/token', refreshForm(first.refresh_token))).status).toBe(200);
  });

  it('rejects an expired access token with 401 until it is refreshed', async () => {
    const t = await connect();
    expect((await api(t.access_token)).status).toBe(200);
    await admin({ expireAllAccessTokens: true });
    const expired = await api(t.access_token);
    expect(expired.status).toBe(401);
    expect(await expired.json()).toMatchObject({ status: 'error', category: 'EXPIRED_AUTHENTICATION' });
    const refreshed = await token('/oauth/2026-03/token', refreshForm(t.refresh_token));
    expect(refreshed.status).toBe(200);
    expect((await api(refreshed.body.access_token)).status).toBe(200);
    expect((await api('never-issued')).status).toBe(401);
  });

  it('expires access tokens after the configured TTL', async () => {
    const short = await startEmulator({
      credentials: [],
      scale: { contacts: 1, invoices: 1, orders: 1 },
      oauth: { clients: [CLIENT], accessTokenTtlSeconds: 1 },
    });
    try {
      const loc = new URL(
        (
          await fetch(`${short.url}/oauth/authorize?${new URLSearchParams({ client_id: CLIENT.clientId, redirect_uri: REDIRECT, scope: SCOPE })}`, {
            redirect: 'manual',
          })
        ).headers.get('location') ?? '',
      );
      const res = await fetch(`${short.url}/oauth/v1/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(codeForm(loc.searchParams.get('code') ?? '')),
      });
      const body = (await res.json()) as { access_token: string; expires_in: number };
      expect(body.expires_in).toBe(1);
      const call = () => fetch(`${short.url}/crm/v3/objects/contacts`, { headers: { authorization: `Bearer ${body.access_token}` } });
      expect((await call()).status).toBe(200);
      await new Promise((r) => setTimeout(r, 1100));
      expect((await call()).status).toBe(401);
    } finally {
      await short.stop();
    }
  });

  it('answers invalid_grant for a reused code, and revokes what the code issued', async () => {
    const code = await getCode();
    const ok = await token('/oauth/v1/token', codeForm(code));
    expect(ok.status).toBe(200);
    const again = await token('/oauth/v1/token', codeForm(code));
    expect(again.status).toBe(400);
    expect(again.body).toMatchObject({ error: 'invalid_grant', status: 'BAD_AUTH_CODE' });
    expect(typeof again.body.error_description).toBe('string');
    expect(typeof again.body.message).toBe('string');
    expect((await api(ok.body.access_token)).status).toBe(401);
    expect((await token('/oauth/v1/token', refreshForm(ok.body.refresh_token))).body.error).toBe('invalid_grant');
  });

  it('answers invalid_grant for a wrong PKCE verifier, a missing one, and burns the code', async () => {
    const { verifier, challenge } = pkce();
    const code = await getCode(challenge);
    const missing = await token('/oauth/2026-03/token', codeForm(code));
    expect(missing.status).toBe(400);
    expect(missing.body.error).toBe('invalid_grant');
    const wrong = await token('/oauth/2026-03/token', codeForm(code, { code_verifier: pkce().verifier }));
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    const right = await token('/oauth/2026-03/token', codeForm(code, { code_verifier: verifier }));
    expect(right.status).toBe(400);
  });

  it('answers invalid_grant BAD_REFRESH_TOKEN for an unknown refresh token', async () => {
    for (const path of ['/oauth/v1/token', '/oauth/2026-03/token']) {
      const res = await token(path, refreshForm('na1-0000-not-a-token'));
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        error: 'invalid_grant',
        error_description: 'refresh token is invalid, expired or revoked',
        status: 'BAD_REFRESH_TOKEN',
        message: 'refresh token is invalid, expired or revoked',
      });
    }
  });

  it('rejects bad clients, redirect URIs and grant types', async () => {
    const code = await getCode();
    expect((await token('/oauth/v1/token', codeForm(code, { client_secret: 'nope' }))).body).toMatchObject({ error: 'invalid_client' });
    expect((await token('/oauth/v1/token', codeForm(code, { redirect_uri: 'http://127.0.0.1:9/other' }))).body).toMatchObject({
      error: 'invalid_grant',
      status: 'BAD_REDIRECT_URI',
    });
    expect(
      (await token('/oauth/v1/token', { grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret })).body,
    ).toMatchObject({
      error: 'unsupported_grant_type',
    });
    // Unknown client or unregistered redirect URI: an error page, never a redirect.
    const badClient = await authorize({ client_id: 'nobody', redirect_uri: REDIRECT, scope: SCOPE });
    expect(badClient.status).toBe(400);
    expect(badClient.headers.get('location')).toBeNull();
    const badRedirect = await authorize({ client_id: CLIENT.clientId, redirect_uri: 'https://evil.example/cb', scope: SCOPE });
    expect(badRedirect.status).toBe(400);
    expect(badRedirect.headers.get('location')).toBeNull();
    const plain = await authorize({
      client_id: CLIENT.clientId,
      redirect_uri: REDIRECT,
      scope: SCOPE,
      code_challenge: pkce().challenge,
      code_challenge_method: 'plain',
    });
    expect(plain.status).toBe(400);
  });

  it('issues client_credentials tokens on the 2026-03 endpoint (no refresh token)', async () => {
    const res = await token('/oauth/2026-03/token', { grant_type: 'client_credentials', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret });
    expect(res.status).toBe(200);
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.scopes).toEqual(CLIENT.scopes);
    // ClientCredentialsTokenResponse: token_use is "client_credentials", not "access_token".
    expect(res.body).toMatchObject({ token_type: 'bearer', token_use: 'client_credentials', hub_id: em.portalId });
    expect((await api(res.body.access_token)).status).toBe(200);
  });

  it('puts the required category in 2026-03 error bodies (not in v1 ones)', async () => {
    const code = await getCode();
    const cases: Array<[Record<string, string>, string, string]> = [
      [refreshForm('na1-0000-not-a-token'), 'invalid_grant', 'VALIDATION_ERROR'],
      [codeForm(code, { client_secret: 'nope' }), 'invalid_client', 'INVALID_AUTHENTICATION'],
      [{ grant_type: 'password', client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret }, 'unsupported_grant_type', 'VALIDATION_ERROR'],
    ];
    for (const [form, error, category] of cases) {
      const res = await token('/oauth/2026-03/token', form);
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ error, category, message: expect.any(String), correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/) });
    }
    expect((await token('/oauth/v1/token', refreshForm('na1-0000-not-a-token'))).body.category).toBeUndefined();
  });

  it('introspects access and refresh tokens on /oauth/2026-03/token/introspect', async () => {
    const t = await connect();
    const introspect = (tokenValue: string, client = CLIENT) =>
      token('/oauth/2026-03/token/introspect', {
        client_id: client.clientId,
        client_secret: client.clientSecret,
        token: tokenValue,
        token_type_hint: 'access_token',
      });
    const access = await introspect(t.access_token);
    expect(access.status).toBe(200);
    expect(access.body).toMatchObject({
      active: true,
      token_use: 'access_token',
      client_id: CLIENT.clientId,
      hub_id: em.portalId,
      app_id: em.appId,
      scopes: SCOPE.split(' '),
      is_private_distribution: false,
      user_id: expect.any(Number),
      signed_access_token: expect.objectContaining({ hubId: em.portalId, appId: em.appId }),
    });
    expect(access.body.expires_in).toBeGreaterThan(1700);
    const refresh = await introspect(t.refresh_token);
    expect(refresh.body).toMatchObject({ active: true, token_use: 'refresh_token', client_id: CLIENT.clientId, hub_id: em.portalId });
    expect((await introspect('never-issued')).body).toEqual({ active: false });
    const wrongSecret = await introspect(t.access_token, { ...CLIENT, clientSecret: 'nope' });
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body).toMatchObject({ error: 'invalid_client', category: 'INVALID_AUTHENTICATION' });
  });

  it('revokes a refresh token on /oauth/2026-03/token/revoke (RFC 7009: 200, also for unknown tokens)', async () => {
    const t = await connect();
    const revoke = (tokenValue: string) =>
      fetch(`${em.url}/oauth/2026-03/token/revoke`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: CLIENT.clientId, client_secret: CLIENT.clientSecret, token: tokenValue, token_type_hint: 'refresh_token' }),
      });
    const res = await revoke(t.refresh_token);
    expect(res.status).toBe(200);
    expect(await res.text()).toBe('');
    expect((await token('/oauth/2026-03/token', refreshForm(t.refresh_token))).body).toMatchObject({ error: 'invalid_grant', status: 'BAD_REFRESH_TOKEN' });
    expect((await fetch(`${em.url}/oauth/v1/refresh-tokens/${t.refresh_token}`)).status).toBe(404);
    expect((await revoke('never-issued')).status).toBe(200);
    // An access token can be revoked too: the API no longer accepts it.
    expect((await api(t.access_token)).status).toBe(200);
    expect((await revoke(t.access_token)).status).toBe(200);
    expect((await api(t.access_token)).status).toBe(401);
    const noClient = await token('/oauth/2026-03/token/revoke', { token: t.refresh_token });
    expect(noClient.status).toBe(400);
    expect(noClient.body).toMatchObject({ error: 'invalid_client', category: 'INVALID_AUTHENTICATION' });
  });

  it('rotates refresh tokens when the switch is on, rejecting the old one', async () => {
    const first = await connect();
    const state = await admin({ rotateRefreshTokens: true });
    expect(state.rotateRefreshTokens).toBe(true);
    const rotated = await token('/oauth/2026-03/token', refreshForm(first.refresh_token));
    expect(rotated.status).toBe(200);
    expect(rotated.body.refresh_token).not.toBe(first.refresh_token);
    const old = await token('/oauth/2026-03/token', refreshForm(first.refresh_token));
    expect(old.status).toBe(400);
    expect(old.body).toMatchObject({ error: 'invalid_grant', status: 'BAD_REFRESH_TOKEN' });
    expect((await token('/oauth/2026-03/token', refreshForm(rotated.body.refresh_token))).status).toBe(200);
  });

  it('revokes a refresh token through the admin route', async () => {
    const t = await connect();
    await admin({ revokeRefreshToken: t.refresh_token });
    expect((await token('/oauth/v1/token', refreshForm(t.refresh_token))).body.error).toBe('invalid_grant');
    const bad = await fetch(`${em.url}/__emulator/oauth`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rotateRefreshTokens: 'yes' }),
    });
    expect(bad.status).toBe(400);
  });
});
