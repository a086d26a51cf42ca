// HubSpot's OAuth 2.0 endpoints for the emulator: the authorize page (auto-approving), the legacy
// v1 token endpoints and the date-versioned 2026-03 ones (token with PKCE and client_credentials,
// introspect, revoke), with HubSpot's answer shapes and its RFC 6749 + legacy error bodies (the
// 2026-03 ones also carry the spec's required `category`). Access tokens expire after 30 minutes like
// HubSpot's; refresh tokens are long-lived and, as in v1, not rotated unless the switch says so.
// Code, token and grant-log bookkeeping is the SDK's OAuthGrantBook (connectors/sdk/oauth-emulator.ts).
// See /work/shared/providers/REFERENCE.md §1 Auth. Wording of error messages is UNCONFIRMED.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { OAuthGrantBook, oauthErrorPage, sameSecret, type OAuthAdminSwitches } from '../../sdk/oauth-emulator.ts';

export interface HubSpotOAuthClient {
  clientId: string;
  clientSecret: string;
  /** Exact redirect URIs the app registered; authorize and token requests must use one of them. */
  redirectUris: string[];
  /** Scopes granted to client_credentials tokens (default: none). */
  scopes?: string[];
}

export interface HubSpotOAuthOptions {
  clients: HubSpotOAuthClient[];
  /** Lifetime of issued access tokens. Default 1800 (HubSpot's 30 minutes). */
  accessTokenTtlSeconds?: number;
  /** Lifetime of authorization codes. Default 60. */
  codeTtlSeconds?: number;
  /** Issue a new refresh token on every refresh and reject the old one. Default false (HubSpot v1). */
  rotateRefreshTokens?: boolean;
  /** Clock in ms (tests). Default Date.now. */
  now?: () => number;
  /** user_id reported by the 2026-03 token endpoint. Default 2620000. */
  userId?: number;
  /** User e-mail reported by GET /oauth/v1/access-tokens/:token. */
  userEmail?: string;
}

export const DEFAULT_ACCESS_TOKEN_TTL_SECONDS = 1800;
export const DEFAULT_CODE_TTL_SECONDS = 60;

export type GrantType = 'authorization_code' | 'refresh_token' | 'client_credentials';

/** One token-endpoint call as the emulator judged it (tests count refreshes with this). */
export interface OAuthGrantRecord {
  endpoint: 'v1' | '2026-03';
  grantType: string;
  clientId: string | null;
  /** null when tokens were issued, else the OAuth error code. */
  error: string | null;
  at: number;
}

export type OAuthAdminInput = OAuthAdminSwitches;

/** What HubSpot remembers per code beyond the SDK's client id and expiry. */
interface CodeFields {
  redirectUri: string;
  scopes: string[];
  challenge: string | null;
}

/** Per token; userId is null for client_credentials tokens (no user). */
interface TokenFields {
  scopes: string[];
  userId: number | null;
}

export type AccessTokenCheck = { ok: true; clientId: string } | { ok: false; reason: 'unknown' } | { ok: false; reason: 'expired'; expiredMinutesAgo: number };

type Endpoint = 'v1' | '2026-03';
type TokenFailure = { ok: false; reply: EmulatorReply; error: string };
type TokenResult = { ok: true; body: Record<string, unknown> } | TokenFailure;

const FORM = /^application\/x-www-form-urlencoded/i;

export class HubSpotOAuth {
  private readonly clients = new Map<string, HubSpotOAuthClient>();
  private readonly book: OAuthGrantBook<CodeFields, TokenFields, OAuthGrantRecord>;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly userId: number;
  private readonly userEmail: string;

  constructor(
    options: HubSpotOAuthOptions | undefined,
    private readonly hubId: number,
    private readonly appId: number,
  ) {
    for (const c of options?.clients ?? []) {
      if (!c.clientId || !c.clientSecret) throw new Error('oauth.clients: every client needs clientId and clientSecret');
      this.clients.set(c.clientId, { ...c, redirectUris: [...c.redirectUris] });
    }
    this.ttlMs = (options?.accessTokenTtlSeconds ?? DEFAULT_ACCESS_TOKEN_TTL_SECONDS) * 1000;
    this.now = options?.now ?? Date.now;
    this.userId = options?.userId ?? 2620000;
    this.userEmail = options?.userEmail ?? 'emulator@example.com';
    this.book = new OAuthGrantBook({
      accessTokenTtlMs: this.ttlMs,
      codeTtlMs: (options?.codeTtlSeconds ?? DEFAULT_CODE_TTL_SECONDS) * 1000,
      rotateRefreshTokens: options?.rotateRefreshTokens ?? false,
      newCode: randomUUID,
      newAccessToken,
      newRefreshToken,
      now: this.now,
    });
  }

  get rotateRefreshTokens(): boolean {
    return this.book.rotateRefreshTokens;
  }

  set rotateRefreshTokens(on: boolean) {
    this.book.rotateRefreshTokens = on;
  }

  /** Whether an API call may use this bearer token (issued, not revoked, not expired). */
  checkAccessToken(token: string): AccessTokenCheck {
    const check = this.book.checkAccess(token);
    if (check.status === 'live') return { ok: true, clientId: check.grant.clientId };
    // HubSpot answers a revoked token like one it never issued.
    if (check.status !== 'expired') return { ok: false, reason: 'unknown' };
    return { ok: false, reason: 'expired', expiredMinutesAgo: Math.floor(check.expiredMs / 60_000) };
  }

  /** Token-endpoint calls so far, oldest first. */
  grants(): OAuthGrantRecord[] {
    return this.book.grants();
  }

  /** Token-endpoint calls that issued tokens, optionally of one grant type. */
  successfulGrants(grantType?: GrantType): number {
    return this.book.successfulGrants(grantType);
  }

  resetGrants(): void {
    this.book.resetGrants();
  }

  state() {
    const { rotateRefreshTokens, accessTokenTtlSeconds, ...counts } = this.book.state();
    return { rotateRefreshTokens, accessTokenTtlSeconds: accessTokenTtlSeconds as number, clients: [...this.clients.keys()], ...counts };
  }

  /** PUT /__emulator/oauth. Throws TypeError on bad input. */
  configure(input: OAuthAdminInput): void {
    this.book.configure(input);
  }

  routes(): EmulatorRoute[] {
    return [
      { method: 'GET', path: '/oauth/authorize', operation: 'oauth.authorize', handler: (req) => this.authorize(req) },
      { method: 'POST', path: '/oauth/v1/token', operation: 'oauth.token', handler: (req) => this.token(req, 'v1') },
      { method: 'POST', path: '/oauth/2026-03/token', operation: 'oauth.token', handler: (req) => this.token(req, '2026-03') },
      { method: 'POST', path: '/oauth/2026-03/token/introspect', operation: 'oauth.introspect', handler: (req) => this.introspect(req) },
      { method: 'POST', path: '/oauth/2026-03/token/revoke', operation: 'oauth.revoke', handler: (req) => this.revoke(req) },
      { method: 'GET', path: '/oauth/v1/access-tokens/:token', operation: 'oauth.accessTokenInfo', handler: (req) => this.accessTokenInfo(req) },
      { method: 'GET', path: '/oauth/v1/refresh-tokens/:token', operation: 'oauth.refreshTokenInfo', handler: (req) => this.refreshTokenInfo(req) },
      { method: 'DELETE', path: '/oauth/v1/refresh-tokens/:token', operation: 'oauth.refreshTokenDelete', handler: (req) => this.refreshTokenDelete(req) },
    ];
  }

  // -------------------------------------------------------------------------------------------

  private authorize(req: EmulatorRequest): EmulatorReply {
    const q = req.query;
    const clientId = q.get('client_id') ?? '';
    const redirectUri = q.get('redirect_uri') ?? '';
    const client = this.clients.get(clientId);
    // Without a known client and a registered redirect URI, nothing may be redirected anywhere.
    if (!client) return page(400, 'Authorization failed because the client_id is not valid or the app is not registered.');
    if (!client.redirectUris.includes(redirectUri))
      return page(400, 'Authorization failed because the redirect URL does not match the one registered for this app.');
    const scopes = (q.get('scope') ?? '').split(/[\s+,]+/).filter((s) => s !== '');
    if (scopes.length === 0) return page(400, 'Authorization failed because the scope parameter is missing.');
    const challenge = q.get('code_challenge');
    const method = q.get('code_challenge_method');
    if (challenge !== null) {
      if ((method ?? 'plain') !== 'S256') return page(400, 'Authorization failed: code_challenge_method must be S256.');
      if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return page(400, 'Authorization failed: code_challenge must be a base64url SHA-256 digest.');
    }
    const optional = (q.get('optional_scopes') ?? '').split(/[\s+,]+/).filter((s) => s !== '');
    const code = this.book.issueCode(clientId, { redirectUri, scopes: [...new Set([...scopes, ...optional])], challenge });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { location: target.toString(), 'cache-control': 'no-store' }, body: '' };
  }

  private token(req: EmulatorRequest, endpoint: Endpoint): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    const clientId = form.get('client_id') ?? basicCredentials(req)?.user ?? null;
    const result = this.grant(req, endpoint, grantType);
    this.book.record({ endpoint, grantType, clientId, error: result.ok ? null : result.error });
    if (!result.ok) return result.reply;
    return { status: 200, headers: { 'content-type': 'application/json;charset=utf-8', 'cache-control': 'no-store' }, body: result.body };
  }

  /** The form body and the authenticated client of a 2026-03 or v1 POST, or the error to answer. */
  private authenticateClient(req: EmulatorRequest, endpoint: Endpoint): { form: URLSearchParams; client: HubSpotOAuthClient } | TokenFailure {
    const ctype = req.headers['content-type'] ?? '';
    if (!FORM.test(ctype)) return fail(endpoint, 400, 'invalid_request', 'BAD_REQUEST', 'The request body must be application/x-www-form-urlencoded.');
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const basic = basicCredentials(req);
    const clientId = form.get('client_id') ?? basic?.user ?? null;
    const secret = form.get('client_secret') ?? basic?.password ?? null;
    const client = clientId ? this.clients.get(clientId) : undefined;
    if (!client) return fail(endpoint, 400, 'invalid_client', 'BAD_CLIENT_ID', 'missing or unknown client id');
    if (secret === null || !sameSecret(secret, client.clientSecret))
      return fail(endpoint, 400, 'invalid_client', 'BAD_CLIENT_SECRET', 'missing or invalid client secret');
    return { form, client };
  }

  private grant(req: EmulatorRequest, endpoint: Endpoint, grantType: string): TokenResult {
    const allowed = endpoint === 'v1' ? ['authorization_code', 'refresh_token'] : ['authorization_code', 'refresh_token', 'client_credentials'];
    if (FORM.test(req.headers['content-type'] ?? '') && !allowed.includes(grantType)) {
      return fail(endpoint, 400, 'unsupported_grant_type', 'BAD_GRANT_TYPE', grantType ? `grant_type ${grantType} is not supported` : 'missing grant_type');
    }
    const authenticated = this.authenticateClient(req, endpoint);
    if ('reply' in authenticated) return authenticated;
    const { form, client } = authenticated;

    if (grantType === 'authorization_code') {
      // Another client's code counts as not found (and its replay revokes nothing).
      const opened = this.book.openCode(form.get('code') ?? '', client.clientId);
      if (opened.status === 'unknown') return fail(endpoint, 400, 'invalid_grant', 'BAD_AUTH_CODE', 'auth code not found');
      if (opened.status === 'replayed') return fail(endpoint, 400, 'invalid_grant', 'BAD_AUTH_CODE', 'auth code has already been used');
      if (opened.status === 'expired') return fail(endpoint, 400, 'invalid_grant', 'BAD_AUTH_CODE', 'auth code is expired');
      const grant = opened.grant;
      // A wrong redirect_uri leaves the code usable; a wrong verifier burns it (no brute-forcing).
      if ((form.get('redirect_uri') ?? '') !== grant.redirectUri)
        return fail(endpoint, 400, 'invalid_grant', 'BAD_REDIRECT_URI', 'redirect_uri does not match the one used to obtain the code');
      if (grant.challenge !== null) {
        const verifier = form.get('code_verifier');
        if (!verifier) return fail(endpoint, 400, 'invalid_grant', 'BAD_AUTH_CODE', 'code_verifier is required for this code');
        if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || s256(verifier) !== grant.challenge) {
          this.book.burnCode(grant);
          return fail(endpoint, 400, 'invalid_grant', 'BAD_AUTH_CODE', 'code_verifier does not match the code_challenge');
        }
      }
      const issued = this.book.redeemCode(grant, { scopes: grant.scopes, userId: this.userId });
      return { ok: true, body: this.body(endpoint, { ...issued, scopes: grant.scopes, userId: this.userId }) };
    }

    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      const grant = this.book.liveRefresh(token);
      if (!grant || grant.clientId !== client.clientId) {
        return fail(endpoint, 400, 'invalid_grant', 'BAD_REFRESH_TOKEN', 'refresh token is invalid, expired or revoked');
      }
      const issued = this.book.exchangeRefresh(token, { scopes: grant.scopes, userId: this.userId });
      return { ok: true, body: this.body(endpoint, { ...issued, scopes: grant.scopes, userId: this.userId }) };
    }

    // client_credentials (2026-03 only): no user, no refresh token.
    const requested = (form.get('scope') ?? '').split(/[\s+,]+/).filter((s) => s !== '');
    const registered = client.scopes ?? [];
    const unknown = requested.filter((s) => !registered.includes(s));
    if (unknown.length > 0) return fail(endpoint, 400, 'invalid_scope', 'BAD_SCOPES', `scopes not granted to this app: ${unknown.join(', ')}`);
    const scopes = requested.length > 0 ? requested : registered;
    const accessToken = this.book.issueAccess(client.clientId, { scopes, userId: null });
    return { ok: true, body: this.body(endpoint, { accessToken, refreshToken: null, scopes, userId: null }) };
  }

  /** v1: {token_type, refresh_token, access_token, expires_in}; 2026-03: AccessTokenResponse or, without a user, ClientCredentialsTokenResponse. */
  private body(endpoint: Endpoint, t: { accessToken: string; refreshToken: string | null; scopes: string[]; userId: number | null }): Record<string, unknown> {
    const expiresIn = Math.round(this.ttlMs / 1000);
    if (endpoint === 'v1') {
      return { token_type: 'bearer', refresh_token: t.refreshToken, access_token: t.accessToken, expires_in: expiresIn };
    }
    const out: Record<string, unknown> = { access_token: t.accessToken, expires_in: expiresIn };
    if (t.refreshToken !== null) out.refresh_token = t.refreshToken;
    out.token_type = 'bearer';
    out.token_use = t.userId === null ? 'client_credentials' : 'access_token';
    out.hub_id = this.hubId;
    if (t.userId !== null) out.user_id = t.userId;
    out.scopes = t.scopes;
    return out;
  }

  /** The authenticated client and the `token` of an introspect or revoke call, or the error to answer. */
  private tokenRequest(req: EmulatorRequest): { client: HubSpotOAuthClient; token: string } | EmulatorReply {
    const authenticated = this.authenticateClient(req, '2026-03');
    if ('reply' in authenticated) return authenticated.reply;
    const token = authenticated.form.get('token') ?? '';
    if (token === '') return fail('2026-03', 400, 'invalid_request', 'BAD_REQUEST', 'missing token').reply;
    return { client: authenticated.client, token };
  }

  /**
   * POST /oauth/2026-03/token/introspect: the token's metadata (PublicAccessTokenInfoResponse or
   * PublicRefreshTokenInfoResponse), or RFC 7662's {active:false} for a token that is unknown,
   * expired, revoked or another client's (UNCONFIRMED for HubSpot).
   */
  private introspect(req: EmulatorRequest): EmulatorReply {
    const request = this.tokenRequest(req);
    if ('status' in request) return request;
    const { client, token } = request;
    const access = this.book.checkAccess(token);
    const refresh = access.status === 'unknown' ? this.book.liveRefresh(token) : undefined;
    const common = { client_id: client.clientId, app_id: this.appId, hub_id: this.hubId, hub_domain: `portal-${this.hubId}.example.com`, token };
    if (access.status === 'live' && access.grant.clientId === client.clientId) {
      const { grant } = access;
      const expiresIn = Math.max(0, Math.floor(((grant.expiresAt ?? this.now()) - this.now()) / 1000));
      return json(200, {
        active: true,
        ...common,
        expires_in: expiresIn,
        is_private_distribution: false,
        scopes: grant.scopes,
        signed_access_token: this.signedAccessToken(grant.clientId, grant.scopes, grant.userId, grant.expiresAt ?? this.now()),
        token_type: 'access',
        token_use: 'access_token',
        ...(grant.userId === null ? {} : { user: this.userEmail, user_id: grant.userId }),
      });
    }
    if (refresh && refresh.clientId === client.clientId) {
      return json(200, {
        active: true,
        ...common,
        scopes: refresh.scopes,
        token_type: 'refresh',
        token_use: 'refresh_token',
        user: this.userEmail,
        user_id: this.userId,
      });
    }
    return json(200, { active: false });
  }

  /** The decoded form of an access token introspection shows (field values UNCONFIRMED). */
  private signedAccessToken(clientId: string, scopes: string[], userId: number | null, expiresAt: number): Record<string, unknown> {
    const digest = createHash('sha256').update(`${clientId}:${expiresAt}`).digest('base64url');
    return {
      appId: this.appId,
      appInstallId: `${this.appId}-${this.hubId}`,
      audience: 'api.hubapi.com',
      expiresAt,
      hubId: this.hubId,
      hublet: 'na1',
      installingUserId: this.userId,
      isPrivateDistribution: false,
      isServiceAccount: userId === null,
      isUserLevel: false,
      newSignature: digest,
      scopeToScopeGroupPks: '',
      scopes: scopes.join(' '),
      signature: digest,
      trialScopeToScopeGroupPks: '',
      trialScopes: '',
      userId: userId ?? 0,
    };
  }

  /**
   * POST /oauth/2026-03/token/revoke (replaces v1's DELETE /refresh-tokens/{token}): revokes the
   * client's refresh or access token and answers 200 with no body, also for a token it does not
   * know (RFC 7009 §2.2; HubSpot's success answer is UNCONFIRMED, its spec lists only errors).
   */
  private revoke(req: EmulatorRequest): EmulatorReply {
    const request = this.tokenRequest(req);
    if ('status' in request) return request;
    const { client, token } = request;
    if (this.book.liveRefresh(token)?.clientId === client.clientId) this.book.revokeRefresh(token);
    else if (this.book.checkAccess(token).status === 'live') this.book.revokeAccess(token, client.clientId);
    return { status: 200, headers: { 'cache-control': 'no-store' }, body: '' };
  }

  private accessTokenInfo(req: EmulatorRequest): EmulatorReply {
    const token = req.params.token ?? '';
    const check = this.book.checkAccess(token);
    if (check.status !== 'live') {
      return {
        status: 404,
        body: { status: 'error', message: 'Access token not found or expired', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' },
      };
    }
    const grant = check.grant;
    return {
      status: 200,
      body: {
        token,
        user: grant.userId === null ? null : this.userEmail,
        hub_domain: `portal-${this.hubId}.example.com`,
        scopes: grant.scopes,
        hub_id: this.hubId,
        app_id: this.appId,
        // HubSpot access tokens always have an expiry (the TTL is never null here).
        expires_in: Math.max(0, Math.floor(((grant.expiresAt ?? this.now()) - this.now()) / 1000)),
        user_id: grant.userId,
        token_type: 'access',
      },
    };
  }

  private refreshTokenInfo(req: EmulatorRequest): EmulatorReply {
    const token = req.params.token ?? '';
    const grant = this.book.liveRefresh(token);
    if (!grant) {
      return { status: 404, body: { status: 'error', message: 'Refresh token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' } };
    }
    return {
      status: 200,
      body: {
        token,
        user: this.userEmail,
        hub_domain: `portal-${this.hubId}.example.com`,
        scopes: grant.scopes,
        hub_id: this.hubId,
        client_id: grant.clientId,
        user_id: this.userId,
        token_type: 'refresh',
      },
    };
  }

  private refreshTokenDelete(req: EmulatorRequest): EmulatorReply {
    if (!this.book.revokeRefresh(req.params.token ?? '')) {
      return { status: 404, body: { status: 'error', message: 'Refresh token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' } };
    }
    return { status: 204 };
  }
}

// ---------------------------------------------------------------------------------------------

/**
 * An OAuth error answer: RFC 6749's error + error_description, HubSpot's legacy status + message,
 * and on 2026-03 the spec's required category (values UNCONFIRMED: VALIDATION_ERROR, or
 * INVALID_AUTHENTICATION for a client that failed to authenticate).
 */
function fail(endpoint: Endpoint, status: number, error: string, legacyStatus: string, description: string): TokenFailure {
  const body: Record<string, unknown> = { error, error_description: description, status: legacyStatus, message: description, correlationId: randomUUID() };
  if (endpoint === '2026-03') body.category = error === 'invalid_client' ? 'INVALID_AUTHENTICATION' : 'VALIDATION_ERROR';
  return { ok: false, error, reply: { status, headers: { 'content-type': 'application/json;charset=utf-8', 'cache-control': 'no-store' }, body } };
}

const json = (status: number, body: Record<string, unknown>): EmulatorReply => ({
  status,
  headers: { 'content-type': 'application/json;charset=utf-8', 'cache-control': 'no-store' },
  body,
});

const page = (status: number, message: string) => oauthErrorPage(status, message, 'HubSpot authorization error', 'Authorization error');

function basicCredentials(req: EmulatorRequest): { user: string; password: string } | null {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return { user: decodeURIComponent(decoded.slice(0, i)), password: decodeURIComponent(decoded.slice(i + 1)) };
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

// HubSpot access tokens are opaque strings of up to ~300 characters; refresh tokens are
// region-prefixed UUID-like strings.
const newAccessToken = () => `CO${randomBytes(96).toString('base64url')}`;
const newRefreshToken = () => `na1-${randomUUID().slice(0, 4)}-${randomUUID()}`;
