// HubSpot's OAuth 2.0 endpoints for the emulator: the authorize page (auto-approving), the legacy
// v1 token endpoint and the date-versioned 2026-03 one (PKCE, client_credentials), with HubSpot's
// answer shapes and its RFC 6749 + legacy error bodies. Access tokens expire after 30 minutes like
// HubSpot's; refresh tokens are long-lived and, as in v1, not rotated unless the switch says so.
// See /work/shared/providers/REFERENCE.md §1 Auth. Wording of error messages is UNCONFIRMED.
import { createHash, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';

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

export interface OAuthAdminInput {
  rotateRefreshTokens?: boolean;
  expireAllAccessTokens?: boolean;
  /** Expire one access token now. */
  expireAccessToken?: string;
  /** A refresh token to revoke (later use: invalid_grant). */
  revokeRefreshToken?: string;
}

interface CodeGrant {
  clientId: string;
  redirectUri: string;
  scopes: string[];
  challenge: string | null;
  expiresAt: number;
  used: boolean;
  /** Tokens issued from this code: revoked when the code is replayed (RFC 6749 §4.1.2). */
  issued: { access: string; refresh: string } | null;
}

interface AccessGrant {
  clientId: string;
  scopes: string[];
  expiresAt: number;
  userId: number | null;
  revoked: boolean;
}

interface RefreshGrant {
  clientId: string;
  scopes: string[];
  revoked: boolean;
}

export type AccessTokenCheck = { ok: true } | { ok: false; reason: 'unknown' } | { ok: false; reason: 'expired'; expiredMinutesAgo: number };

type TokenResult = { ok: true; body: Record<string, unknown> } | { ok: false; reply: EmulatorReply; error: string };

const FORM = /^application\/x-www-form-urlencoded/i;

export class HubSpotOAuth {
  private readonly clients = new Map<string, HubSpotOAuthClient>();
  private readonly codes = new Map<string, CodeGrant>();
  private readonly access = new Map<string, AccessGrant>();
  private readonly refresh = new Map<string, RefreshGrant>();
  private readonly log: OAuthGrantRecord[] = [];
  private readonly ttlMs: number;
  private readonly codeTtlMs: number;
  private readonly now: () => number;
  private readonly userId: number;
  private readonly userEmail: string;
  rotateRefreshTokens: boolean;

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
    this.codeTtlMs = (options?.codeTtlSeconds ?? DEFAULT_CODE_TTL_SECONDS) * 1000;
    this.rotateRefreshTokens = options?.rotateRefreshTokens ?? false;
    this.now = options?.now ?? Date.now;
    this.userId = options?.userId ?? 2620000;
    this.userEmail = options?.userEmail ?? 'emulator@example.com';
  }

  /** Whether an API call may use this bearer token (issued, not revoked, not expired). */
  checkAccessToken(token: string): AccessTokenCheck {
    const grant = this.access.get(token);
    if (!grant || grant.revoked) return { ok: false, reason: 'unknown' };
    if (this.now() >= grant.expiresAt) return { ok: false, reason: 'expired', expiredMinutesAgo: Math.floor((this.now() - grant.expiresAt) / 60_000) };
    return { ok: true };
  }

  /** Token-endpoint calls so far, oldest first. */
  grants(): OAuthGrantRecord[] {
    return this.log.slice();
  }

  /** Token-endpoint calls that issued tokens, optionally of one grant type. */
  successfulGrants(grantType?: GrantType): number {
    return this.log.filter((g) => g.error === null && (!grantType || g.grantType === grantType)).length;
  }

  resetGrants(): void {
    this.log.length = 0;
  }

  state() {
    const now = this.now();
    const byGrantType: Record<string, { ok: number; failed: number }> = {};
    for (const g of this.log) {
      const entry = (byGrantType[g.grantType] ??= { ok: 0, failed: 0 });
      if (g.error === null) entry.ok += 1;
      else entry.failed += 1;
    }
    return {
      rotateRefreshTokens: this.rotateRefreshTokens,
      accessTokenTtlSeconds: this.ttlMs / 1000,
      clients: [...this.clients.keys()],
      liveAccessTokens: [...this.access.values()].filter((g) => !g.revoked && g.expiresAt > now).length,
      liveRefreshTokens: [...this.refresh.values()].filter((g) => !g.revoked).length,
      byGrantType,
    };
  }

  /** PUT /__emulator/oauth. Throws TypeError on bad input. */
  configure(input: OAuthAdminInput): void {
    if (typeof input !== 'object' || input === null) throw new TypeError('Body must be an object.');
    if (input.rotateRefreshTokens !== undefined) {
      if (typeof input.rotateRefreshTokens !== 'boolean') throw new TypeError('rotateRefreshTokens must be a boolean.');
      this.rotateRefreshTokens = input.rotateRefreshTokens;
    }
    const past = this.now() - 1;
    if (input.expireAllAccessTokens === true) for (const g of this.access.values()) g.expiresAt = Math.min(g.expiresAt, past);
    if (input.expireAccessToken !== undefined) {
      const g = this.access.get(String(input.expireAccessToken));
      if (!g) throw new TypeError('expireAccessToken: no such access token.');
      g.expiresAt = Math.min(g.expiresAt, past);
    }
    if (input.revokeRefreshToken !== undefined) {
      const g = this.refresh.get(String(input.revokeRefreshToken));
      if (!g) throw new TypeError('revokeRefreshToken: no such refresh token.');
      g.revoked = true;
    }
  }

  routes(): EmulatorRoute[] {
    return [
      { method: 'GET', path: '/oauth/authorize', operation: 'oauth.authorize', handler: (req) => this.authorize(req) },
      { method: 'POST', path: '/oauth/v1/token', operation: 'oauth.token', handler: (req) => this.token(req, 'v1') },
      { method: 'POST', path: '/oauth/2026-03/token', operation: 'oauth.token', handler: (req) => this.token(req, '2026-03') },
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
    if (!client.redirectUris.includes(redirectUri)) return page(400, 'Authorization failed because the redirect URL does not match the one registered for this app.');
    const scopes = (q.get('scope') ?? '').split(/[\s+,]+/).filter((s) => s !== '');
    if (scopes.length === 0) return page(400, 'Authorization failed because the scope parameter is missing.');
    const challenge = q.get('code_challenge');
    const method = q.get('code_challenge_method');
    if (challenge !== null) {
      if ((method ?? 'plain') !== 'S256') return page(400, 'Authorization failed: code_challenge_method must be S256.');
      if (!/^[A-Za-z0-9_-]{43}$/.test(challenge)) return page(400, 'Authorization failed: code_challenge must be a base64url SHA-256 digest.');
    }
    const optional = (q.get('optional_scopes') ?? '').split(/[\s+,]+/).filter((s) => s !== '');
    const code = randomUUID();
    this.codes.set(code, {
      clientId,
      redirectUri,
      scopes: [...new Set([...scopes, ...optional])],
      challenge,
      expiresAt: this.now() + this.codeTtlMs,
      used: false,
      issued: null,
    });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    const state = q.get('state');
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { location: target.toString(), 'cache-control': 'no-store' }, body: '' };
  }

  private token(req: EmulatorRequest, endpoint: 'v1' | '2026-03'): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    const basic = basicCredentials(req);
    const clientId = form.get('client_id') ?? basic?.user ?? null;
    const result = this.grant(req, endpoint, form, grantType, clientId, form.get('client_secret') ?? basic?.password ?? null);
    this.log.push({ endpoint, grantType, clientId, error: result.ok ? null : result.error, at: this.now() });
    if (!result.ok) return result.reply;
    return { status: 200, headers: { 'content-type': 'application/json;charset=utf-8', 'cache-control': 'no-store' }, body: result.body };
  }

  private grant(req: EmulatorRequest, endpoint: 'v1' | '2026-03', form: URLSearchParams, grantType: string, clientId: string | null, secret: string | null): TokenResult {
    const ctype = req.headers['content-type'] ?? '';
    if (!FORM.test(ctype)) return fail(400, 'invalid_request', 'BAD_REQUEST', 'The request body must be application/x-www-form-urlencoded.');
    const allowed = endpoint === 'v1' ? ['authorization_code', 'refresh_token'] : ['authorization_code', 'refresh_token', 'client_credentials'];
    if (!allowed.includes(grantType)) {
      return fail(400, 'unsupported_grant_type', 'BAD_GRANT_TYPE', grantType ? `grant_type ${grantType} is not supported` : 'missing grant_type');
    }
    const client = clientId ? this.clients.get(clientId) : undefined;
    if (!client) return fail(400, 'invalid_client', 'BAD_CLIENT_ID', 'missing or unknown client id');
    if (secret === null || !sameSecret(secret, client.clientSecret)) return fail(400, 'invalid_client', 'BAD_CLIENT_SECRET', 'missing or invalid client secret');

    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      const grant = this.codes.get(code);
      if (!grant || grant.clientId !== client.clientId) return fail(400, 'invalid_grant', 'BAD_AUTH_CODE', 'auth code not found');
      if (grant.used) {
        // A replayed code revokes what it issued, as RFC 6749 §4.1.2 asks.
        if (grant.issued) {
          const a = this.access.get(grant.issued.access);
          if (a) a.revoked = true;
          const r = this.refresh.get(grant.issued.refresh);
          if (r) r.revoked = true;
        }
        return fail(400, 'invalid_grant', 'BAD_AUTH_CODE', 'auth code has already been used');
      }
      if (this.now() >= grant.expiresAt) {
        grant.used = true;
        return fail(400, 'invalid_grant', 'BAD_AUTH_CODE', 'auth code is expired');
      }
      if ((form.get('redirect_uri') ?? '') !== grant.redirectUri) return fail(400, 'invalid_grant', 'BAD_REDIRECT_URI', 'redirect_uri does not match the one used to obtain the code');
      if (grant.challenge !== null) {
        const verifier = form.get('code_verifier');
        if (!verifier) return fail(400, 'invalid_grant', 'BAD_AUTH_CODE', 'code_verifier is required for this code');
        if (!/^[A-Za-z0-9._~-]{43,128}$/.test(verifier) || s256(verifier) !== grant.challenge) {
          // A failed verification burns the code, so it cannot be brute-forced.
          grant.used = true;
          return fail(400, 'invalid_grant', 'BAD_AUTH_CODE', 'code_verifier does not match the code_challenge');
        }
      }
      grant.used = true;
      const issued = this.issue(client.clientId, grant.scopes, this.userId, true);
      grant.issued = { access: issued.accessToken, refresh: issued.refreshToken as string };
      return { ok: true, body: this.body(endpoint, issued) };
    }

    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      const grant = this.refresh.get(token);
      if (!grant || grant.revoked || grant.clientId !== client.clientId) {
        return fail(400, 'invalid_grant', 'BAD_REFRESH_TOKEN', 'refresh token is invalid, expired or revoked');
      }
      let refreshToken = token;
      if (this.rotateRefreshTokens) {
        grant.revoked = true;
        refreshToken = newRefreshToken();
        this.refresh.set(refreshToken, { clientId: client.clientId, scopes: grant.scopes, revoked: false });
      }
      const issued = this.issue(client.clientId, grant.scopes, this.userId, false);
      return { ok: true, body: this.body(endpoint, { ...issued, refreshToken }) };
    }

    // client_credentials (2026-03 only): no user, no refresh token.
    const requested = (form.get('scope') ?? '').split(/[\s+,]+/).filter((s) => s !== '');
    const registered = client.scopes ?? [];
    const unknown = requested.filter((s) => !registered.includes(s));
    if (unknown.length > 0) return fail(400, 'invalid_scope', 'BAD_SCOPES', `scopes not granted to this app: ${unknown.join(', ')}`);
    const issued = this.issue(client.clientId, requested.length > 0 ? requested : registered, null, false);
    return { ok: true, body: this.body(endpoint, { ...issued, refreshToken: null }) };
  }

  private issue(clientId: string, scopes: string[], userId: number | null, withRefresh: boolean) {
    const accessToken = newAccessToken();
    const expiresAt = this.now() + this.ttlMs;
    this.access.set(accessToken, { clientId, scopes, expiresAt, userId, revoked: false });
    let refreshToken: string | null = null;
    if (withRefresh) {
      refreshToken = newRefreshToken();
      this.refresh.set(refreshToken, { clientId, scopes, revoked: false });
    }
    return { accessToken, refreshToken, scopes, userId };
  }

  private body(endpoint: 'v1' | '2026-03', t: { accessToken: string; refreshToken: string | null; scopes: string[]; userId: number | null }): Record<string, unknown> {
    const expiresIn = Math.round(this.ttlMs / 1000);
    if (endpoint === 'v1') {
      return { token_type: 'bearer', refresh_token: t.refreshToken, access_token: t.accessToken, expires_in: expiresIn };
    }
    const out: Record<string, unknown> = { access_token: t.accessToken, expires_in: expiresIn };
    if (t.refreshToken !== null) out.refresh_token = t.refreshToken;
    out.token_type = 'bearer';
    out.token_use = 'access_token';
    out.hub_id = this.hubId;
    if (t.userId !== null) out.user_id = t.userId;
    out.scopes = t.scopes;
    return out;
  }

  private accessTokenInfo(req: EmulatorRequest): EmulatorReply {
    const token = req.params.token ?? '';
    const grant = this.access.get(token);
    const check = this.checkAccessToken(token);
    if (!grant || !check.ok) {
      return { status: 404, body: { status: 'error', message: 'Access token not found or expired', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' } };
    }
    return {
      status: 200,
      body: {
        token,
        user: grant.userId === null ? null : this.userEmail,
        hub_domain: `portal-${this.hubId}.example.com`,
        scopes: grant.scopes,
        hub_id: this.hubId,
        app_id: this.appId,
        expires_in: Math.max(0, Math.floor((grant.expiresAt - this.now()) / 1000)),
        user_id: grant.userId,
        token_type: 'access',
      },
    };
  }

  private refreshTokenInfo(req: EmulatorRequest): EmulatorReply {
    const token = req.params.token ?? '';
    const grant = this.refresh.get(token);
    if (!grant || grant.revoked) {
      return { status: 404, body: { status: 'error', message: 'Refresh token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' } };
    }
    return {
      status: 200,
      body: { token, user: this.userEmail, hub_domain: `portal-${this.hubId}.example.com`, scopes: grant.scopes, hub_id: this.hubId, client_id: grant.clientId, user_id: this.userId, token_type: 'refresh' },
    };
  }

  private refreshTokenDelete(req: EmulatorRequest): EmulatorReply {
    const grant = this.refresh.get(req.params.token ?? '');
    if (!grant || grant.revoked) {
      return { status: 404, body: { status: 'error', message: 'Refresh token not found', correlationId: randomUUID(), category: 'OBJECT_NOT_FOUND' } };
    }
    grant.revoked = true;
    return { status: 204 };
  }
}

// ---------------------------------------------------------------------------------------------

function fail(status: number, error: string, legacyStatus: string, description: string): TokenResult {
  return {
    ok: false,
    error,
    reply: {
      status,
      headers: { 'content-type': 'application/json;charset=utf-8', 'cache-control': 'no-store' },
      body: { error, error_description: description, status: legacyStatus, message: description, correlationId: randomUUID() },
    },
  };
}

function page(status: number, message: string): EmulatorReply {
  const escaped = message.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!doctype html><html><head><title>HubSpot authorization error</title></head><body><h1>Authorization error</h1><p>${escaped}</p></body></html>`,
  };
}

function basicCredentials(req: EmulatorRequest): { user: string; password: string } | null {
  const header = req.headers.authorization;
  const m = typeof header === 'string' ? /^Basic\s+(\S+)\s*$/i.exec(header) : null;
  if (!m?.[1]) return null;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  if (i < 0) return null;
  return { user: decodeURIComponent(decoded.slice(0, i)), password: decodeURIComponent(decoded.slice(i + 1)) };
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

export function s256(verifier: string): string {
  return createHash('sha256').update(verifier).digest('base64url');
}

// HubSpot access tokens are opaque strings of up to ~300 characters; refresh tokens are
// region-prefixed UUID-like strings.
const newAccessToken = () => `CO${randomBytes(96).toString('base64url')}`;
const newRefreshToken = () => `na1-${randomUUID().slice(0, 4)}-${randomUUID()}`;
