// Stripe Connect OAuth (Standard accounts) for the emulator: the authorize page (auto-approving,
// real host connect.stripe.com, served here on the emulator's port), POST /oauth/token and
// POST /oauth/deauthorize, both authenticated with the platform's secret key. Issued access
// tokens are secret keys for the connected account: they do not expire (unless a TTL is set for
// tests) and the API accepts them. See /work/shared/providers/REFERENCE.md §2 Auth. Error message
// wording is UNCONFIRMED.
import { randomBytes } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { maskApiKey } from './errors.ts';

export interface StripeOAuthClient {
  /** The platform's Connect client id, `ca_…`. */
  clientId: string;
  /** Registered redirect URIs; the first is used when authorize omits redirect_uri. */
  redirectUris: string[];
}

export interface StripeOAuthOptions {
  clients: StripeOAuthClient[];
  /** Access-token lifetime for tests. Default: none (Stripe's connected-account keys do not expire). */
  accessTokenTtlSeconds?: number;
  /** Authorization-code lifetime. Default 300. */
  codeTtlSeconds?: number;
  /** Issue a new refresh token on every refresh and reject the old one. Default false. */
  rotateRefreshTokens?: boolean;
  /** The account that "connects" through authorize. Default acct_1EmulatorConnect. */
  connectedAccountId?: string;
  /** Clock in ms (tests). Default Date.now. */
  now?: () => number;
}

export const DEFAULT_STRIPE_CODE_TTL_SECONDS = 300;

export interface StripeOAuthGrantRecord {
  grantType: string;
  /** null when tokens were issued, else the OAuth error code. */
  error: string | null;
  at: number;
}

export interface StripeOAuthAdminInput {
  rotateRefreshTokens?: boolean;
  expireAllAccessTokens?: boolean;
  expireAccessToken?: string;
  revokeRefreshToken?: string;
}

type Scope = 'read_write' | 'read_only';

interface CodeGrant {
  clientId: string;
  scope: Scope;
  expiresAt: number;
  used: boolean;
  issued: { access: string; refresh: string } | null;
}

interface TokenGrant {
  clientId: string;
  account: string;
  scope: Scope;
  expiresAt: number | null;
  revoked: boolean;
}

export type StripeAccessTokenCheck = { ok: true } | { ok: false; reason: 'unknown' | 'expired' };

type Result = { ok: true; body: Record<string, unknown> } | { ok: false; status: number; error: string; description: string };

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-cache, no-store' };

export class StripeOAuth {
  private readonly clients = new Map<string, StripeOAuthClient>();
  private readonly codes = new Map<string, CodeGrant>();
  private readonly access = new Map<string, TokenGrant>();
  private readonly refresh = new Map<string, TokenGrant>();
  private readonly log: StripeOAuthGrantRecord[] = [];
  private readonly ttlMs: number | null;
  private readonly codeTtlMs: number;
  private readonly now: () => number;
  private readonly publishableKeys = new Map<string, string>();
  readonly connectedAccountId: string;
  rotateRefreshTokens: boolean;

  constructor(
    options: StripeOAuthOptions | undefined,
    /** Platform secret keys allowed to call /oauth/token and /oauth/deauthorize. */
    private readonly platformKeys: ReadonlySet<string>,
    private readonly livemode: boolean,
  ) {
    for (const c of options?.clients ?? []) {
      if (!/^ca_\w+$/.test(c.clientId)) throw new Error(`oauth.clients: client id must look like ca_…, got ${JSON.stringify(c.clientId)}`);
      this.clients.set(c.clientId, { ...c, redirectUris: [...c.redirectUris] });
    }
    this.ttlMs = options?.accessTokenTtlSeconds === undefined ? null : options.accessTokenTtlSeconds * 1000;
    this.codeTtlMs = (options?.codeTtlSeconds ?? DEFAULT_STRIPE_CODE_TTL_SECONDS) * 1000;
    this.rotateRefreshTokens = options?.rotateRefreshTokens ?? false;
    this.connectedAccountId = options?.connectedAccountId ?? 'acct_1EmulatorConnect';
    this.now = options?.now ?? Date.now;
  }

  checkAccessToken(token: string): StripeAccessTokenCheck {
    const grant = this.access.get(token);
    if (!grant) return { ok: false, reason: 'unknown' };
    if (grant.revoked || (grant.expiresAt !== null && this.now() >= grant.expiresAt)) return { ok: false, reason: 'expired' };
    return { ok: true };
  }

  grants(): StripeOAuthGrantRecord[] {
    return this.log.slice();
  }

  successfulGrants(grantType?: 'authorization_code' | 'refresh_token'): number {
    return this.log.filter((g) => g.error === null && (!grantType || g.grantType === grantType)).length;
  }

  resetGrants(): void {
    this.log.length = 0;
  }

  state() {
    const live = (g: TokenGrant) => !g.revoked && (g.expiresAt === null || g.expiresAt > this.now());
    const byGrantType: Record<string, { ok: number; failed: number }> = {};
    for (const g of this.log) {
      const entry = (byGrantType[g.grantType] ??= { ok: 0, failed: 0 });
      if (g.error === null) entry.ok += 1;
      else entry.failed += 1;
    }
    return {
      rotateRefreshTokens: this.rotateRefreshTokens,
      accessTokenTtlSeconds: this.ttlMs === null ? null : this.ttlMs / 1000,
      clients: [...this.clients.keys()],
      connectedAccountId: this.connectedAccountId,
      liveAccessTokens: [...this.access.values()].filter(live).length,
      liveRefreshTokens: [...this.refresh.values()].filter((g) => !g.revoked).length,
      byGrantType,
    };
  }

  /** PUT /__emulator/oauth. Throws TypeError on bad input. */
  configure(input: StripeOAuthAdminInput): void {
    if (typeof input !== 'object' || input === null) throw new TypeError('Body must be an object.');
    if (input.rotateRefreshTokens !== undefined) {
      if (typeof input.rotateRefreshTokens !== 'boolean') throw new TypeError('rotateRefreshTokens must be a boolean.');
      this.rotateRefreshTokens = input.rotateRefreshTokens;
    }
    const past = this.now() - 1;
    const expire = (g: TokenGrant) => (g.expiresAt = g.expiresAt === null ? past : Math.min(g.expiresAt, past));
    if (input.expireAllAccessTokens === true) for (const g of this.access.values()) expire(g);
    if (input.expireAccessToken !== undefined) {
      const g = this.access.get(String(input.expireAccessToken));
      if (!g) throw new TypeError('expireAccessToken: no such access token.');
      expire(g);
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
      { method: 'POST', path: '/oauth/token', operation: 'oauth.token', handler: (req) => this.token(req) },
      { method: 'POST', path: '/oauth/deauthorize', operation: 'oauth.deauthorize', handler: (req) => this.deauthorize(req) },
    ];
  }

  // -------------------------------------------------------------------------------------------

  private authorize(req: EmulatorRequest): EmulatorReply {
    const q = req.query;
    const client = this.clients.get(q.get('client_id') ?? '');
    if (!client) return page(400, `No application matches the supplied client identifier: ${q.get('client_id') ?? ''}`);
    const redirect = q.get('redirect_uri') ?? client.redirectUris[0];
    if (!redirect || !client.redirectUris.includes(redirect)) return page(400, 'Invalid redirect URI: it does not match one of the URIs registered for this application.');
    const target = new URL(redirect);
    const state = q.get('state');
    const back = (params: Record<string, string>): EmulatorReply => {
      for (const [k, v] of Object.entries(params)) target.searchParams.set(k, v);
      if (state !== null) target.searchParams.set('state', state);
      return { status: 302, headers: { location: target.toString(), 'cache-control': 'no-store' }, body: '' };
    };
    // Past the client and redirect checks, errors go back to the platform like Stripe sends them.
    if (q.get('response_type') !== 'code') return back({ error: 'invalid_request', error_description: "Invalid response_type: must be 'code'." });
    const scope = (q.get('scope') ?? 'read_only') as Scope;
    if (scope !== 'read_write' && scope !== 'read_only') return back({ error: 'invalid_scope', error_description: `Invalid scope: ${scope}` });
    const code = `ac_${token(24)}`;
    this.codes.set(code, { clientId: client.clientId, scope, expiresAt: this.now() + this.codeTtlMs, used: false, issued: null });
    return back({ scope, code });
  }

  private token(req: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    const result = this.platform(req, form) ?? this.grant(form, grantType);
    this.log.push({ grantType, error: result.ok ? null : result.error, at: this.now() });
    return reply(result);
  }

  /** The platform's secret key: Bearer, Basic user name, or the client_secret form field. */
  private platform(req: EmulatorRequest, form: URLSearchParams): Result | null {
    const key = apiKeyOf(req) ?? form.get('client_secret');
    if (!key) return { ok: false, status: 401, error: 'invalid_client', description: 'No authentication was provided. Send your secret API key using the Authorization header, or as a client_secret POST parameter.' };
    if (!this.platformKeys.has(key)) return { ok: false, status: 401, error: 'invalid_client', description: `Invalid API Key provided: ${maskApiKey(key)}` };
    return null;
  }

  private grant(form: URLSearchParams, grantType: string): Result {
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      if (!code) return { ok: false, status: 400, error: 'invalid_request', description: 'No authorization code provided' };
      const grant = this.codes.get(code);
      if (!grant) return { ok: false, status: 400, error: 'invalid_grant', description: `Authorization code does not exist: ${code}` };
      if (grant.used) {
        if (grant.issued) {
          this.revoke(this.access.get(grant.issued.access));
          this.revoke(this.refresh.get(grant.issued.refresh));
        }
        return { ok: false, status: 400, error: 'invalid_grant', description: `This authorization code has already been used. All tokens issued with this code have been revoked.` };
      }
      grant.used = true;
      if (this.now() >= grant.expiresAt) return { ok: false, status: 400, error: 'invalid_grant', description: `Authorization code expired: ${code}` };
      const issued = this.issue(grant.clientId, grant.scope, null);
      grant.issued = { access: issued.access_token as string, refresh: issued.refresh_token as string };
      return { ok: true, body: issued };
    }
    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      if (!token) return { ok: false, status: 400, error: 'invalid_request', description: 'No refresh token provided' };
      const grant = this.refresh.get(token);
      if (!grant || grant.revoked) return { ok: false, status: 400, error: 'invalid_grant', description: `Refresh token does not exist: ${token}` };
      const requested = form.get('scope');
      if (requested !== null && requested !== grant.scope && !(grant.scope === 'read_write' && requested === 'read_only')) {
        return { ok: false, status: 400, error: 'invalid_scope', description: `Invalid scope: ${requested}` };
      }
      if (this.rotateRefreshTokens) grant.revoked = true;
      return { ok: true, body: this.issue(grant.clientId, (requested as Scope | null) ?? grant.scope, this.rotateRefreshTokens ? null : token) };
    }
    if (!grantType) return { ok: false, status: 400, error: 'invalid_request', description: 'No grant type specified' };
    return { ok: false, status: 400, error: 'unsupported_grant_type', description: `Unsupported grant type: ${grantType}` };
  }

  private issue(clientId: string, scope: Scope, keepRefresh: string | null): Record<string, unknown> {
    const mode = this.livemode ? 'live' : 'test';
    const account = this.connectedAccountId;
    const accessToken = `sk_${mode}_${token(99)}`;
    const grant = (): TokenGrant => ({ clientId, account, scope, expiresAt: this.ttlMs === null ? null : this.now() + this.ttlMs, revoked: false });
    this.access.set(accessToken, grant());
    let refreshToken = keepRefresh;
    if (refreshToken === null) {
      refreshToken = `rt_${token(40)}`;
      this.refresh.set(refreshToken, { ...grant(), expiresAt: null });
    }
    let publishable = this.publishableKeys.get(account);
    if (!publishable) {
      publishable = `pk_${mode}_${token(99)}`;
      this.publishableKeys.set(account, publishable);
    }
    const body: Record<string, unknown> = {
      access_token: accessToken,
      livemode: this.livemode,
      refresh_token: refreshToken,
      token_type: 'bearer',
      stripe_publishable_key: publishable,
      stripe_user_id: account,
      scope,
    };
    if (this.ttlMs !== null) body.expires_in = Math.round(this.ttlMs / 1000);
    return body;
  }

  private deauthorize(req: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const denied = this.platform(req, form);
    if (denied) return reply(denied);
    const clientId = form.get('client_id') ?? '';
    const account = form.get('stripe_user_id') ?? '';
    if (!this.clients.has(clientId)) return reply({ ok: false, status: 400, error: 'invalid_client', description: `No such application: '${clientId}'` });
    const live = (g: TokenGrant) => !g.revoked && g.clientId === clientId && g.account === account;
    const tokens = [...this.access.values(), ...this.refresh.values()].filter(live);
    if (tokens.length === 0) {
      return reply({ ok: false, status: 401, error: 'invalid_client', description: `This application is not connected to stripe account ${account}, or that account does not exist.` });
    }
    for (const g of tokens) g.revoked = true;
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ stripe_user_id: account }, null, 2) };
  }

  private revoke(g: TokenGrant | undefined): void {
    if (g) g.revoked = true;
  }
}

function reply(result: Result): EmulatorReply {
  if (result.ok) return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(result.body, null, 2) };
  return { status: result.status, headers: JSON_HEADERS, body: JSON.stringify({ error: result.error, error_description: result.description }, null, 2) };
}

function page(status: number, message: string): EmulatorReply {
  const escaped = message.replace(/[<>&"]/g, (c) => `&#${c.charCodeAt(0)};`);
  return {
    status,
    headers: { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' },
    body: `<!doctype html><html><head><title>Stripe Connect error</title></head><body><h1>Something went wrong</h1><p>${escaped}</p></body></html>`,
  };
}

const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
function token(length: number): string {
  const bytes = randomBytes(length);
  let out = '';
  for (const b of bytes) out += ALNUM[b % ALNUM.length];
  return out;
}

/** `Authorization: Bearer <key>` or Basic with the key as user name. */
function apiKeyOf(req: EmulatorRequest): string | null {
  const raw = req.headers.authorization;
  const auth = (Array.isArray(raw) ? raw[0] : raw)?.trim();
  if (!auth) return null;
  const [scheme, value = ''] = auth.split(/\s+/, 2) as [string, string?];
  if (/^bearer$/i.test(scheme)) return value.trim() || null;
  if (/^basic$/i.test(scheme)) return Buffer.from(value, 'base64').toString('utf8').split(':', 1)[0] || null;
  return null;
}
