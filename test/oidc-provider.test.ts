// The gateway's own OAuth code against a real, standards-compliant authorization server instead of
// our emulators: oidc-provider (certified OpenID/OAuth server) runs on loopback inside the test and
// is registered as the `hubspot` connector's OAuth app. What this proves, end to end through the
// real gateway (ConnectFlow, ProviderApps, VaultCredentialStore, TokenManager, openid-client):
//   1. authorization code + PKCE (S256, enforced by the server) + state + RFC 9207 `iss` → an
//      ACTIVE connection whose vault record holds the server's access and refresh tokens;
//   2. refresh, proactive (access token inside the expiry margin) and after a 401, with the server
//      rotating refresh tokens: the rotated token is persisted, the old one is dead, and presenting
//      it again (reuse detection revokes the grant) turns the connection NEEDS_REAUTH;
//   3. client credentials through the same openid-client configuration, re-run on expiry;
//   4. a code replayed into another flow, or presented with another flow's verifier, is refused by
//      the server (invalid_grant) → the gateway's callback answers 400 and stores nothing (the
//      same code with its own flow's state is then accepted: the verifier was the reason);
//   5. manifest features no shipped connector uses yet, through a test connector `oidc` (HubSpot's
//      loaders, its own OAuth manifest): client_secret_basic at the token and revocation endpoints,
//      and RFC 7009 revocation on disconnect (the server drops the refresh token and its grant).
// The data queries are not exercised: no HubSpot API sits behind these tokens.
// The browser is played by fetch with manual redirects and a small cookie jar; the server's login
// and consent screens are replaced by an interaction handler that approves programmatically.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair } from 'jose';
// @ts-expect-error -- oidc-provider ships no type declarations (@types/oidc-provider is not installed); the shapes used are typed below.
import OidcProvider, { errors as oidcErrors } from 'oidc-provider';
import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspot } from '../connectors/hubspot/index.ts';
import { connectorMap } from '../connectors/registry.ts';
import { defineConnector } from '../connectors/sdk/define.ts';
import type { Connector } from '../connectors/sdk/types.ts';
import type { ConnectionConfig } from '../src/config.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import type { TokenRecord } from '../src/accounts/token-manager.ts';
import { RUN_PREFIX, cookieBrowser, startConnect, startStack, type Stack } from './helpers.ts';

/** The browser's cookies for the gateway (the connect flow's binding cookie). */
const gatewayBrowser = cookieBrowser();

// ─── the slice of oidc-provider's API this test uses ─────────────────────────────────────────────

interface TokenModel {
  clientId: string;
  grantId?: string;
  scope?: string;
  accountId?: string;
  consumed?: unknown;
  isExpired: boolean;
}
interface TokenModelClass {
  find(value: string): Promise<TokenModel | undefined>;
}
interface GrantInstance {
  addOIDCScope(scope: string): void;
  addResourceScope(resource: string, scope: string): void;
  save(): Promise<string>;
}
interface InteractionDetails {
  uid: string;
  prompt: { name: string; details: { missingOIDCScope?: string[]; missingResourceScopes?: Record<string, string[]> } };
  params: Record<string, string>;
  grantId?: string;
}
interface OidcContext {
  oidc: { params?: Record<string, unknown>; route?: string; client?: { clientId: string } };
}
interface ProviderInstance {
  callback(): (req: IncomingMessage, res: ServerResponse) => void;
  on(event: 'grant.revoked', listener: (ctx: OidcContext, grantId: string) => void): void;
  on(event: string, listener: (ctx: OidcContext, err?: { error?: string }) => void): void;
  interactionDetails(req: IncomingMessage, res: ServerResponse): Promise<InteractionDetails>;
  interactionFinished(req: IncomingMessage, res: ServerResponse, result: Record<string, unknown>, options: { mergeWithLastSubmission: boolean }): Promise<void>;
  Grant: { new (init: { accountId: string; clientId: string }): GrantInstance; find(id: string): Promise<GrantInstance | undefined> };
  AccessToken: TokenModelClass;
  RefreshToken: TokenModelClass;
  ClientCredentials: TokenModelClass;
}
const Provider = OidcProvider as new (issuer: string, configuration: Record<string, unknown>) => ProviderInstance;
const { InvalidTarget } = oidcErrors as { InvalidTarget: new () => Error };

// ─── fixtures ────────────────────────────────────────────────────────────────────────────────────

const APP = { clientId: 'switchboard-gateway', clientSecret: `oidc-test-secret-${randomUUID()}` };
/**
 * The `oidc` test connector's app, registered for client_secret_basic. The secret holds characters
 * that RFC 6749 §2.3.1 form-encodes inside the Basic credentials (':' '+' '/' '=' and a space).
 */
const BASIC_APP = { clientId: 'switchboard-gateway-basic', clientSecret: `basic:secret+/= ${randomUUID()}` };
/** The resource server (RFC 8707) the HubSpot scopes belong to; every token is issued for it. */
const RESOURCE = 'https://api.hubapi.example/';
const RESOURCE_SCOPES = ['crm.objects.contacts.read', 'crm.objects.invoices.read'];
const ACCOUNT = 'owner-of-portal-62515';
/** Below the token manager's 60 s refresh margin: every access token is already "due". */
const ACCESS_TOKEN_TTL = 30;
const BETA_KEY = `sb_beta_${randomUUID()}`;

let stack: Stack;
let gatewayOrigin: string;
let issuer: string;
let provider: ProviderInstance;
let server: Server;
let handle: (req: IncomingMessage, res: ServerResponse) => void;
/** Every token-endpoint request the server answered, in order. */
const tokenRequests: Array<{ grantType: string; error: string | null }> = [];
/** Client authentication on every POST to the token and revocation endpoints, as it arrived on the wire. */
const endpointAuth: Array<{ path: string; scheme: string | null; clientId: string | null; clientSecret: string | null }> = [];
/** Grants the server revoked, with the endpoint and parameters of the request that did it. */
const revokedGrants: Array<{ grantId: string; route: string | undefined; clientId: string | undefined; tokenTypeHint: unknown }> = [];

/**
 * The `oidc` test connector: HubSpot's loaders (never called here: no API sits behind these tokens)
 * under an OAuth manifest using what no shipped connector uses yet: RFC 7009 revocation,
 * client_secret_basic, refresh tokens rotated on every refresh. defineConnector insists on https
 * URLs, so the manifest holds placeholders; the gateway's registration points them at the server.
 */
const oidcConnector: Connector = defineConnector({
  ...hubspot,
  manifest: {
    ...hubspot.manifest,
    id: 'oidc',
    displayName: 'OIDC test',
    auth: {
      oauth2: {
        authorizationUrl: 'https://oidc.invalid/auth',
        tokenUrl: 'https://oidc.invalid/token',
        revocation: { type: 'rfc7009', url: 'https://oidc.invalid/token/revocation' },
        scopes: RESOURCE_SCOPES,
        scopeSeparator: ' ',
        pkce: true,
        clientAuth: 'client_secret_basic',
        grants: ['authorization_code'],
        refreshTokenRotation: 'always',
      },
    },
  },
});

const beta = <T = Record<string, unknown>>(query: string, variables?: Record<string, unknown>) => stack.query<T>(query, variables, BETA_KEY);

/** Approves whatever the server asks for: login as ACCOUNT, then consent to exactly the missing scopes. */
async function interaction(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const details = await provider.interactionDetails(req, res);
  if (details.prompt.name === 'login') {
    await provider.interactionFinished(req, res, { login: { accountId: ACCOUNT } }, { mergeWithLastSubmission: false });
    return;
  }
  const existing = details.grantId ? await provider.Grant.find(details.grantId) : undefined;
  const grant = existing ?? new provider.Grant({ accountId: ACCOUNT, clientId: details.params.client_id! });
  const { missingOIDCScope, missingResourceScopes } = details.prompt.details;
  if (missingOIDCScope) grant.addOIDCScope(missingOIDCScope.join(' '));
  for (const [resource, scopes] of Object.entries(missingResourceScopes ?? {})) grant.addResourceScope(resource, scopes.join(' '));
  await provider.interactionFinished(req, res, { consent: { grantId: await grant.save() } }, { mergeWithLastSubmission: false });
}

beforeAll(async () => {
  stack = await startStack({
    scale: { contacts: 2, invoices: 1, orders: 1 },
    config: { keyPrefix: `${RUN_PREFIX}:oidc`, allowInsecureOAuth: true },
    extraTenants: () => [
      { id: 'beta', apiKeys: [{ id: 'b1', sha256: hashApiKey(BETA_KEY) }], connections: [], clientCredentials: { hubspot: { scopes: RESOURCE_SCOPES } } },
    ],
    gatewayOptions: { connectors: new Map([...connectorMap(), ['oidc', oidcConnector]]) },
  });
  gatewayOrigin = new URL(stack.gateway.url).origin;

  // The authorization server's HTTP server first (port 0), so the issuer can name its real port.
  server = createServer((req, res) => {
    if (req.method === 'POST' && (req.url === '/token' || req.url === '/token/revocation')) {
      // Only the header can be read here (the body is the server's to parse). Basic credentials are
      // form-encoded (RFC 6749 §2.3.1), hence decodeURIComponent after turning '+' back into spaces.
      const [scheme = null, value = ''] = req.headers.authorization?.split(' ') ?? [];
      const decoded = scheme?.toLowerCase() === 'basic' ? Buffer.from(value, 'base64').toString('utf8') : null;
      const colon = decoded?.indexOf(':') ?? -1;
      const form = (s: string) => decodeURIComponent(s.replace(/\+/g, ' '));
      endpointAuth.push({
        path: req.url,
        scheme,
        clientId: decoded !== null && colon >= 0 ? form(decoded.slice(0, colon)) : null,
        clientSecret: decoded !== null && colon >= 0 ? form(decoded.slice(colon + 1)) : null,
      });
    }
    if (req.url?.startsWith('/interaction/')) {
      interaction(req, res).catch((err: unknown) => {
        res.statusCode = 500;
        res.end(String(err));
      });
      return;
    }
    handle(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  const { privateKey } = await generateKeyPair('RS256', { extractable: true });
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: APP.clientId,
        client_secret: APP.clientSecret,
        redirect_uris: [`${gatewayOrigin}/connect/hubspot/callback`],
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token', 'client_credentials'],
        // As the hubspot manifest says (clientAuth: client_secret_post).
        token_endpoint_auth_method: 'client_secret_post',
      },
      {
        client_id: BASIC_APP.clientId,
        client_secret: BASIC_APP.clientSecret,
        redirect_uris: [`${gatewayOrigin}/connect/oidc/callback`],
        response_types: ['code'],
        grant_types: ['authorization_code', 'refresh_token'],
        // As the oidc test connector's manifest says; the revocation endpoint authenticates the same way.
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    jwks: { keys: [{ ...(await exportJWK(privateKey)), kid: 'test-signing-key', alg: 'RS256', use: 'sig' }] },
    cookies: { keys: [randomUUID()] },
    findAccount: async (_ctx: unknown, sub: string) => ({ accountId: sub, claims: async () => ({ sub }) }),
    // PKCE on every authorization request, even from this confidential client.
    pkce: { required: () => true },
    // Like a plain OAuth 2.0 server (HubSpot's), a refresh token for every client allowed the
    // refresh grant, valid independently of the browser session (OIDC would want offline_access
    // with prompt=consent). Every refresh returns a new one and consumes the old (reuse revokes the grant).
    issueRefreshToken: async (_ctx: unknown, c: { grantTypeAllowed(type: string): boolean }) => c.grantTypeAllowed('refresh_token'),
    expiresWithSession: async () => false,
    rotateRefreshToken: true,
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      // RFC 7009, at /token/revocation (oidc-provider's default route); a client revokes only its own tokens.
      revocation: {
        enabled: true,
        allowedPolicy: async (_ctx: unknown, c: { clientId: string }, token: { clientId: string }) => token.clientId === c.clientId,
      },
      resourceIndicators: {
        enabled: true,
        defaultResource: async () => RESOURCE,
        useGrantedResource: async () => true,
        getResourceServerInfo: async (_ctx: unknown, indicator: string) => {
          if (indicator !== RESOURCE) throw new InvalidTarget();
          return { scope: RESOURCE_SCOPES.join(' '), accessTokenFormat: 'opaque', accessTokenTTL: ACCESS_TOKEN_TTL };
        },
      },
    },
    ttl: {
      AccessToken: ACCESS_TOKEN_TTL,
      ClientCredentials: ACCESS_TOKEN_TTL,
      AuthorizationCode: 60,
      RefreshToken: 3600,
      Grant: 3600,
      Interaction: 600,
      Session: 3600,
    },
  });
  handle = provider.callback();
  provider.on('grant.success', (ctx) => tokenRequests.push({ grantType: String(ctx.oidc.params?.grant_type), error: null }));
  provider.on('grant.error', (ctx, err) => tokenRequests.push({ grantType: String(ctx.oidc.params?.grant_type), error: err?.error ?? 'unknown' }));
  provider.on('grant.revoked', (ctx, grantId) =>
    revokedGrants.push({ grantId, route: ctx.oidc.route, clientId: ctx.oidc.client?.clientId, tokenTypeHint: ctx.oidc.params?.token_type_hint }),
  );

  // The server is HubSpot's OAuth app on this gateway.
  Object.assign(stack.gateway.services.config.providers, {
    hubspot: {
      oauth: {
        clientId: APP.clientId,
        clientSecret: { type: 'static', token: APP.clientSecret },
        scopes: RESOURCE_SCOPES,
        authorizationUrl: `${issuer}/auth`,
        tokenUrl: `${issuer}/token`,
      },
    },
    // The same server as the oidc test connector's app, over the manifest's https placeholders.
    oidc: {
      oauth: {
        clientId: BASIC_APP.clientId,
        clientSecret: { type: 'static', token: BASIC_APP.clientSecret },
        scopes: RESOURCE_SCOPES,
        authorizationUrl: `${issuer}/auth`,
        tokenUrl: `${issuer}/token`,
        revocationUrl: `${issuer}/token/revocation`,
      },
    },
  });
});

afterAll(async () => {
  await stack?.stop();
  if (server?.listening) {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

// ─── playing the browser ─────────────────────────────────────────────────────────────────────────

/** A cookie jar for one browser: the server's interaction and session cookies. */
class Browser {
  private readonly cookies = new Map<string, string>();

  async get(url: string | URL): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = {};
    if (target.origin === issuer && this.cookies.size) headers.cookie = [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(target, { redirect: 'manual', headers });
    if (target.origin === issuer) {
      for (const line of res.headers.getSetCookie()) {
        const [pair = ''] = line.split(';');
        const eq = pair.indexOf('=');
        const name = pair.slice(0, eq).trim();
        const value = pair.slice(eq + 1).trim();
        if (value === '' || /expires=Thu, 01 Jan 1970/i.test(line)) this.cookies.delete(name);
        else this.cookies.set(name, value);
      }
    }
    return res;
  }
}

async function sessionUrl(connector: string): Promise<string> {
  const res = await beta<{ createConnectSession: { url: string } }>(`mutation($c: String!) { createConnectSession(connector: $c) { url } }`, { c: connector });
  expect(res.errors).toBeUndefined();
  return res.data!.createConnectSession.url;
}

/** Opens a connect link and follows the authorization server until it redirects back to the gateway. */
async function authorize(connector = 'hubspot'): Promise<{ authorizeUrl: URL; callback: URL }> {
  const browser = new Browser();
  // The gateway's connect link sets the flow's binding cookie; the same browser finishes the flow.
  const start = await startConnect(gatewayBrowser, await sessionUrl(connector));
  expect(start.status).toBe(303);
  const authorizeUrl = new URL(start.headers.get('location')!);
  let next = authorizeUrl;
  for (let hop = 0; hop < 10 && next.origin === issuer; hop++) {
    const res = await browser.get(next);
    if (res.status < 300 || res.status >= 400)
      throw new Error(`authorization server answered ${res.status} at ${next.pathname}: ${(await res.text()).slice(0, 300)}`);
    next = new URL(res.headers.get('location')!, next);
  }
  expect(next.origin).toBe(gatewayOrigin);
  return { authorizeUrl, callback: next };
}

async function connectionRows(): Promise<Array<{ id: string; status: string; authType: string; scopes: string[]; lastError: string | null }>> {
  const res = await beta<{ connections: Array<{ id: string; status: string; authType: string; scopes: string[]; lastError: string | null }> }>(
    `{ connections { id status authType scopes lastError } }`,
  );
  expect(res.errors).toBeUndefined();
  return res.data!.connections;
}

/** The runtime connection as the gateway's credential store sees it. */
async function connectionConfig(id: string): Promise<ConnectionConfig> {
  const owner = await stack.gateway.services.directory.ownerOf(id);
  expect(owner?.tenant.id).toBe('beta');
  return owner!.connection;
}

const vaultRecord = async (id: string) => (await stack.gateway.services.vault.get<TokenRecord>('beta', id))!;
const requestsSince = (n: number) => tokenRequests.slice(n);

// ─── the tests ───────────────────────────────────────────────────────────────────────────────────

describe('gateway OAuth against oidc-provider (a standards-compliant authorization server)', () => {
  let connectionId: string;

  it('authorization code + PKCE: connect link → server login/consent → callback → ACTIVE with server-issued tokens', async () => {
    const before = tokenRequests.length;
    const { authorizeUrl, callback } = await authorize();
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${issuer}/auth`);
    expect(authorizeUrl.searchParams.get('client_id')).toBe(APP.clientId);
    expect(authorizeUrl.searchParams.get('response_type')).toBe('code');
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(authorizeUrl.searchParams.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(authorizeUrl.searchParams.get('scope')).toBe(RESOURCE_SCOPES.join(' '));
    // The server came back with a code, the gateway's state and its issuer (RFC 9207).
    expect(callback.pathname).toBe('/connect/hubspot/callback');
    expect(callback.searchParams.get('state')).toBe(authorizeUrl.searchParams.get('state'));
    expect(callback.searchParams.get('iss')).toBe(issuer);
    expect(callback.searchParams.get('code')).toBeTruthy();

    const done = await gatewayBrowser(callback, { redirect: 'manual' });
    const body = (await done.json()) as { connectionId: string; error?: string };
    expect(done.status, body.error).toBe(200);
    connectionId = body.connectionId;
    expect(requestsSince(before)).toEqual([{ grantType: 'authorization_code', error: null }]);

    const row = (await connectionRows()).find((c) => c.id === connectionId)!;
    expect(row).toMatchObject({ status: 'ACTIVE', authType: 'OAUTH2', lastError: null });
    // The scopes the server granted (its token response), not just the ones requested.
    expect([...row.scopes].sort()).toEqual([...RESOURCE_SCOPES].sort());

    const record = await vaultRecord(connectionId);
    expect(record.accessToken).toBeTruthy();
    expect(record.refreshToken).toBeTruthy();
    expect(record.grant).toBeUndefined();
    expect(typeof record.expiresAt).toBe('number');
    // Both are live at the server, issued to our client for the consenting account.
    const at = await provider.AccessToken.find(record.accessToken);
    expect(at).toMatchObject({ clientId: APP.clientId, accountId: ACCOUNT, isExpired: false });
    expect(at!.scope!.split(' ').sort()).toEqual([...RESOURCE_SCOPES].sort());
    expect(await provider.RefreshToken.find(record.refreshToken)).toMatchObject({ clientId: APP.clientId, accountId: ACCOUNT });
  });

  it('refresh (proactive, then after a 401) persists each rotated refresh token; reusing an old one ends in NEEDS_REAUTH', async () => {
    const { credentials } = stack.gateway.services;
    const connection = await connectionConfig(connectionId);
    const first = await vaultRecord(connectionId);
    const before = tokenRequests.length;

    // The access token expires within the 60 s margin: asking for it refreshes first.
    const second = await credentials.accessToken('beta', connection);
    expect(second).not.toBe(first.accessToken);
    const afterProactive = await vaultRecord(connectionId);
    expect(afterProactive.accessToken).toBe(second);
    expect(afterProactive.refreshToken).not.toBe(first.refreshToken);
    expect((await provider.RefreshToken.find(first.refreshToken))?.consumed).toBeTruthy();
    expect(await provider.AccessToken.find(second)).toMatchObject({ clientId: APP.clientId, accountId: ACCOUNT, isExpired: false });

    // The provider answered 401 to that token: forced refresh, with the rotated refresh token from the vault.
    const third = await credentials.afterUnauthorized('beta', connection, second);
    expect(third).toBeTruthy();
    expect(third).not.toBe(second);
    const afterForced = await vaultRecord(connectionId);
    expect(afterForced.accessToken).toBe(third);
    expect(afterForced.refreshToken).not.toBe(afterProactive.refreshToken);
    expect(await provider.AccessToken.find(third!)).toMatchObject({ clientId: APP.clientId, isExpired: false });
    expect(requestsSince(before)).toEqual([
      { grantType: 'refresh_token', error: null },
      { grantType: 'refresh_token', error: null },
    ]);

    // The rotated-away refresh token is dead: presenting it directly is invalid_grant, and the
    // server's reuse detection revokes the whole grant, including the token the vault holds now.
    const config = new client.Configuration({ issuer, token_endpoint: `${issuer}/token` }, APP.clientId, undefined, client.ClientSecretPost(APP.clientSecret));
    client.allowInsecureRequests(config);
    const reuse = await client.refreshTokenGrant(config, first.refreshToken).then(
      () => null,
      (err: unknown) => err,
    );
    expect(reuse).toBeInstanceOf(client.ResponseBodyError);
    expect((reuse as client.ResponseBodyError).error).toBe('invalid_grant');
    expect(await provider.RefreshToken.find(afterForced.refreshToken)).toBeUndefined();

    // The gateway's next refresh is refused (invalid_grant) → NEEDS_REAUTH, never a crash.
    await expect(credentials.afterUnauthorized('beta', connection, third!)).rejects.toMatchObject({
      code: 'UPSTREAM_UNAUTHORIZED',
      message: expect.stringMatching(/re-authorized/),
    });
    const row = (await connectionRows()).find((c) => c.id === connectionId)!;
    expect(row.status).toBe('NEEDS_REAUTH');
    expect(row.lastError).toMatch(/invalid_grant/);
    expect(requestsSince(before).map((r) => r.error)).toEqual([null, null, 'invalid_grant', 'invalid_grant']);
  });

  it('client credentials through the same OAuth configuration; an expiring token re-runs the grant', async () => {
    const before = tokenRequests.length;
    const res = await beta<{ connectWithClientCredentials: { id: string; status: string; authType: string; scopes: string[] } }>(
      `mutation($s: [String!]) { connectWithClientCredentials(connector: "hubspot", scopes: $s) { id status authType scopes } }`,
      { s: [RESOURCE_SCOPES[0]] },
    );
    expect(res.errors).toBeUndefined();
    const created = res.data!.connectWithClientCredentials;
    expect(created).toMatchObject({ status: 'ACTIVE', authType: 'CLIENT_CREDENTIALS', scopes: [RESOURCE_SCOPES[0]] });

    const record = await vaultRecord(created.id);
    expect(record.grant).toBe('client_credentials');
    expect(record.refreshToken).toBe('');
    expect(await provider.ClientCredentials.find(record.accessToken)).toMatchObject({ clientId: APP.clientId, scope: RESOURCE_SCOPES[0], isExpired: false });

    // 30 s of validity is inside the refresh margin: the token manager asks for a new one the same way.
    const renewed = await stack.gateway.services.credentials.accessToken('beta', await connectionConfig(created.id));
    expect(renewed).not.toBe(record.accessToken);
    expect((await vaultRecord(created.id)).accessToken).toBe(renewed);
    expect(await provider.ClientCredentials.find(renewed)).toMatchObject({ clientId: APP.clientId, scope: RESOURCE_SCOPES[0] });
    expect(requestsSince(before)).toEqual([
      { grantType: 'client_credentials', error: null },
      { grantType: 'client_credentials', error: null },
    ]);
  });

  it("a replayed code, and a code presented with another flow's PKCE verifier, are refused by the server: 400, nothing stored", async () => {
    const idsBefore = (await connectionRows()).map((c) => c.id);
    const before = tokenRequests.length;

    // Flow A completes; its code is then presented with flow B's state (and verifier).
    const a = await authorize();
    const doneA = await gatewayBrowser(a.callback, { redirect: 'manual' });
    expect(doneA.status).toBe(200);
    const { connectionId: idA } = (await doneA.json()) as { connectionId: string };
    const b = await authorize();
    const replayed = new URL(b.callback);
    replayed.searchParams.set('code', a.callback.searchParams.get('code')!);
    const r1 = await gatewayBrowser(replayed, { redirect: 'manual' });
    expect(r1.status).toBe(400);
    expect(((await r1.json()) as { error: string }).error).toMatch(/invalid_grant/);

    // Flow C's unused code with flow D's state: D's verifier does not match C's S256 challenge.
    const c = await authorize();
    const d = await authorize();
    const mismatched = new URL(d.callback);
    mismatched.searchParams.set('code', c.callback.searchParams.get('code')!);
    const r2 = await gatewayBrowser(mismatched, { redirect: 'manual' });
    expect(r2.status).toBe(400);
    expect(((await r2.json()) as { error: string }).error).toMatch(/invalid_grant/);

    // C's code was fine: with its own state (and so its own verifier) it is accepted. The refusal
    // above was the verifier, checked by the server against the S256 challenge.
    const doneC = await gatewayBrowser(c.callback, { redirect: 'manual' });
    expect(doneC.status).toBe(200);
    const { connectionId: idC } = (await doneC.json()) as { connectionId: string };

    expect(requestsSince(before).map((r) => `${r.grantType}:${r.error ?? 'ok'}`)).toEqual([
      'authorization_code:ok',
      'authorization_code:invalid_grant',
      'authorization_code:invalid_grant',
      'authorization_code:ok',
    ]);
    // Only flows A and C stored a connection.
    expect(
      (await connectionRows())
        .map((row) => row.id)
        .filter((id) => !idsBefore.includes(id))
        .sort(),
    ).toEqual([idA, idC].sort());
  });
});

describe('RFC 7009 revocation and client_secret_basic, through the oidc test connector', () => {
  let connectionId: string;
  const basicAuth = (path: string) => ({ path, scheme: 'Basic', clientId: BASIC_APP.clientId, clientSecret: BASIC_APP.clientSecret });

  it('connects and refreshes authenticating with HTTP Basic (client_secret_basic) at the token endpoint', async () => {
    const before = tokenRequests.length;
    const authBefore = endpointAuth.length;
    const { authorizeUrl, callback } = await authorize('oidc');
    // The registration's endpoint, not the manifest's https placeholder.
    expect(authorizeUrl.origin + authorizeUrl.pathname).toBe(`${issuer}/auth`);
    expect(authorizeUrl.searchParams.get('client_id')).toBe(BASIC_APP.clientId);
    expect(authorizeUrl.searchParams.get('code_challenge_method')).toBe('S256');
    expect(callback.pathname).toBe('/connect/oidc/callback');
    expect(callback.searchParams.get('iss')).toBe(issuer);

    const done = await gatewayBrowser(callback, { redirect: 'manual' });
    const body = (await done.json()) as { connectionId: string; error?: string };
    expect(done.status, body.error).toBe(200);
    connectionId = body.connectionId;
    expect(connectionId).toMatch(/^oidc-/);
    expect((await connectionRows()).find((c) => c.id === connectionId)).toMatchObject({ status: 'ACTIVE', authType: 'OAUTH2', lastError: null });
    const first = await vaultRecord(connectionId);
    expect(await provider.RefreshToken.find(first.refreshToken)).toMatchObject({ clientId: BASIC_APP.clientId, accountId: ACCOUNT });

    // The refresh (the access token is inside the margin) authenticates the same way, and the
    // rotated refresh token is the one the vault keeps.
    const renewed = await stack.gateway.services.credentials.accessToken('beta', await connectionConfig(connectionId));
    const second = await vaultRecord(connectionId);
    expect(second.accessToken).toBe(renewed);
    expect(second.refreshToken).not.toBe(first.refreshToken);
    expect((await provider.RefreshToken.find(first.refreshToken))?.consumed).toBeTruthy();

    expect(requestsSince(before)).toEqual([
      { grantType: 'authorization_code', error: null },
      { grantType: 'refresh_token', error: null },
    ]);
    // oidc-provider 9 accepts either client_secret_basic or client_secret_post from a client
    // registered for one of them (lib/shared/client_auth.js), so the server's success alone does not
    // show which was used: the Authorization header on the wire does. And since the server refuses a
    // request that also carries client_secret in the body (invalid_request, "only one mechanism"),
    // success with this header means Basic was the only client authentication sent.
    expect(endpointAuth.slice(authBefore)).toEqual([basicAuth('/token'), basicAuth('/token')]);
  });

  it('disconnect revokes the refresh token at the server (RFC 7009, Basic auth), which drops the grant; the vault record and the listing are gone', async () => {
    const record = await vaultRecord(connectionId);
    const refreshToken = await provider.RefreshToken.find(record.refreshToken);
    expect(refreshToken).toMatchObject({ clientId: BASIC_APP.clientId, isExpired: false });
    const grantId = refreshToken!.grantId!;
    expect(grantId).toBeTruthy();
    expect(await provider.Grant.find(grantId)).toBeDefined();
    expect(await provider.AccessToken.find(record.accessToken)).toBeDefined();
    const authBefore = endpointAuth.length;
    const revokedBefore = revokedGrants.length;

    const res = await beta<{ disconnect: { revokedAtProvider: boolean; message: string } }>(
      `mutation($id: ID!) { disconnect(connectionId: $id) { revokedAtProvider message } }`,
      { id: connectionId },
    );
    expect(res.errors).toBeUndefined();
    expect(res.data!.disconnect).toEqual({ revokedAtProvider: true, message: 'access revoked at the provider and credentials deleted' });

    // One request to the revocation endpoint, authenticated like the token endpoint.
    expect(endpointAuth.slice(authBefore)).toEqual([basicAuth('/token/revocation')]);
    // The server revoked the grant from its revocation endpoint, for a refresh token of this client.
    expect(revokedGrants.slice(revokedBefore)).toEqual([{ grantId, route: 'revocation', clientId: BASIC_APP.clientId, tokenTypeHint: 'refresh_token' }]);
    // The refresh token is gone, and with the grant, the access token issued alongside it.
    expect(await provider.RefreshToken.find(record.refreshToken)).toBeUndefined();
    expect(await provider.Grant.find(grantId)).toBeUndefined();
    expect(await provider.AccessToken.find(record.accessToken)).toBeUndefined();

    // And at the gateway: no credentials, no connection.
    expect(await stack.gateway.services.vault.get<TokenRecord>('beta', connectionId)).toBeFalsy();
    expect((await connectionRows()).map((c) => c.id)).not.toContain(connectionId);
    expect(await stack.gateway.services.directory.ownerOf(connectionId)).toBeFalsy();
  });
});
