// Stripe Connect OAuth (Standard accounts) for the emulator: the authorize page (auto-approving,
// real host connect.stripe.com, served here on the emulator's port), POST /oauth/token and
// POST /oauth/deauthorize, both authenticated with the platform's secret key. Issued access
// tokens are secret keys for the connected account: they do not expire (unless a TTL is set for
// tests) and the API accepts them. Code, token and grant-log bookkeeping is the SDK's
// OAuthGrantBook (connectors/sdk/oauth-emulator.ts). See /work/shared/providers/REFERENCE.md §2
// Auth. Error message wording is UNCONFIRMED.
import { randomBytes } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { OAuthGrantBook, oauthErrorPage, type OAuthAdminSwitches } from '../../sdk/oauth-emulator.ts';
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

export type StripeOAuthAdminInput = OAuthAdminSwitches;

type Scope = 'read_write' | 'read_only';

/** Per token: the connected account it acts for (deauthorize revokes by it) and its scope. */
interface TokenFields {
  account: string;
  scope: Scope;
}

export type StripeAccessTokenCheck = { ok: true } | { ok: false; reason: 'unknown' | 'expired' };

type Result = { ok: true; body: Record<string, unknown> } | { ok: false; status: number; error: string; description: string };

const JSON_HEADERS = { 'content-type': 'application/json', 'cache-control': 'no-cache, no-store' };

export class StripeOAuth {
  private readonly clients = new Map<string, StripeOAuthClient>();
  private readonly book: OAuthGrantBook<{ scope: Scope }, TokenFields, StripeOAuthGrantRecord>;
  private readonly publishableKeys = new Map<string, string>();
  readonly connectedAccountId: string;

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
    this.connectedAccountId = options?.connectedAccountId ?? 'acct_1EmulatorConnect';
    this.book = new OAuthGrantBook({
      accessTokenTtlMs: options?.accessTokenTtlSeconds === undefined ? null : options.accessTokenTtlSeconds * 1000,
      codeTtlMs: (options?.codeTtlSeconds ?? DEFAULT_STRIPE_CODE_TTL_SECONDS) * 1000,
      rotateRefreshTokens: options?.rotateRefreshTokens ?? false,
      newCode: () => `ac_${token(24)}`,
      newAccessToken: () => `sk_${this.mode}_${token(99)}`,
      newRefreshToken: () => `rt_${token(40)}`,
      now: options?.now ?? Date.now,
    });
  }

  get rotateRefreshTokens(): boolean {
    return this.book.rotateRefreshTokens;
  }

  set rotateRefreshTokens(on: boolean) {
    this.book.rotateRefreshTokens = on;
  }

  checkAccessToken(token: string): StripeAccessTokenCheck {
    const check = this.book.checkAccess(token);
    if (check.status === 'live') return { ok: true };
    // A revoked (deauthorized) key answers like an expired one.
    return { ok: false, reason: check.status === 'unknown' ? 'unknown' : 'expired' };
  }

  grants(): StripeOAuthGrantRecord[] {
    return this.book.grants();
  }

  successfulGrants(grantType?: 'authorization_code' | 'refresh_token'): number {
    return this.book.successfulGrants(grantType);
  }

  resetGrants(): void {
    this.book.resetGrants();
  }

  state() {
    const { rotateRefreshTokens, accessTokenTtlSeconds, ...counts } = this.book.state();
    return { rotateRefreshTokens, accessTokenTtlSeconds, clients: [...this.clients.keys()], connectedAccountId: this.connectedAccountId, ...counts };
  }

  /** PUT /__emulator/oauth. Throws TypeError on bad input. */
  configure(input: StripeOAuthAdminInput): void {
    this.book.configure(input);
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
    if (!redirect || !client.redirectUris.includes(redirect))
      return page(400, 'Invalid redirect URI: it does not match one of the URIs registered for this application.');
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
    const code = this.book.issueCode(client.clientId, { scope });
    return back({ scope, code });
  }

  private token(req: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const grantType = form.get('grant_type') ?? '';
    const result = this.platform(req, form) ?? this.grant(form, grantType);
    this.book.record({ grantType, error: result.ok ? null : result.error });
    return reply(result);
  }

  /** The platform's secret key: Bearer, Basic user name, or the client_secret form field. */
  private platform(req: EmulatorRequest, form: URLSearchParams): Result | null {
    const key = apiKeyOf(req) ?? form.get('client_secret');
    if (!key)
      return {
        ok: false,
        status: 401,
        error: 'invalid_client',
        description: 'No authentication was provided. Send your secret API key using the Authorization header, or as a client_secret POST parameter.',
      };
    if (!this.platformKeys.has(key)) return { ok: false, status: 401, error: 'invalid_client', description: `Invalid API Key provided: ${maskApiKey(key)}` };
    return null;
  }

  private grant(form: URLSearchParams, grantType: string): Result {
    if (grantType === 'authorization_code') {
      const code = form.get('code') ?? '';
      if (!code) return { ok: false, status: 400, error: 'invalid_request', description: 'No authorization code provided' };
      const opened = this.book.openCode(code);
      if (opened.status === 'unknown') return { ok: false, status: 400, error: 'invalid_grant', description: `Authorization code does not exist: ${code}` };
      if (opened.status === 'replayed') {
        return {
          ok: false,
          status: 400,
          error: 'invalid_grant',
          description: `This authorization code has already been used. All tokens issued with this code have been revoked.`,
        };
      }
      if (opened.status === 'expired') return { ok: false, status: 400, error: 'invalid_grant', description: `Authorization code expired: ${code}` };
      const scope = opened.grant.scope;
      return { ok: true, body: this.body(this.book.redeemCode(opened.grant, { account: this.connectedAccountId, scope }), scope) };
    }
    if (grantType === 'refresh_token') {
      const token = form.get('refresh_token') ?? '';
      if (!token) return { ok: false, status: 400, error: 'invalid_request', description: 'No refresh token provided' };
      const grant = this.book.liveRefresh(token);
      if (!grant) return { ok: false, status: 400, error: 'invalid_grant', description: `Refresh token does not exist: ${token}` };
      const requested = form.get('scope');
      if (requested !== null && requested !== grant.scope && !(grant.scope === 'read_write' && requested === 'read_only')) {
        return { ok: false, status: 400, error: 'invalid_scope', description: `Invalid scope: ${requested}` };
      }
      // A narrowed scope applies to the new access token and, with rotation, the new refresh token.
      const scope = (requested as Scope | null) ?? grant.scope;
      return { ok: true, body: this.body(this.book.exchangeRefresh(token, { account: this.connectedAccountId, scope }), scope) };
    }
    if (!grantType) return { ok: false, status: 400, error: 'invalid_request', description: 'No grant type specified' };
    return { ok: false, status: 400, error: 'unsupported_grant_type', description: `Unsupported grant type: ${grantType}` };
  }

  private get mode(): 'live' | 'test' {
    return this.livemode ? 'live' : 'test';
  }

  /** The token answer; the connected account's publishable key is minted once and then reused. */
  private body(issued: { accessToken: string; refreshToken: string }, scope: Scope): Record<string, unknown> {
    const account = this.connectedAccountId;
    let publishable = this.publishableKeys.get(account);
    if (!publishable) {
      publishable = `pk_${this.mode}_${token(99)}`;
      this.publishableKeys.set(account, publishable);
    }
    const body: Record<string, unknown> = {
      access_token: issued.accessToken,
      livemode: this.livemode,
      refresh_token: issued.refreshToken,
      token_type: 'bearer',
      stripe_publishable_key: publishable,
      stripe_user_id: account,
      scope,
    };
    const ttl = this.book.accessTokenTtlSeconds;
    if (ttl !== null) body.expires_in = Math.round(ttl);
    return body;
  }

  private deauthorize(req: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const denied = this.platform(req, form);
    if (denied) return reply(denied);
    const clientId = form.get('client_id') ?? '';
    const account = form.get('stripe_user_id') ?? '';
    if (!this.clients.has(clientId)) return reply({ ok: false, status: 400, error: 'invalid_client', description: `No such application: '${clientId}'` });
    // Revokes every unrevoked access and refresh token of this client for the account.
    if (this.book.revokeWhere((g) => g.clientId === clientId && g.account === account) === 0) {
      return reply({
        ok: false,
        status: 401,
        error: 'invalid_client',
        description: `This application is not connected to stripe account ${account}, or that account does not exist.`,
      });
    }
    return { status: 200, headers: JSON_HEADERS, body: JSON.stringify({ stripe_user_id: account }, null, 2) };
  }
}

function reply(result: Result): EmulatorReply {
  if (result.ok) return { status: 200, headers: JSON_HEADERS, body: JSON.stringify(result.body, null, 2) };
  return { status: result.status, headers: JSON_HEADERS, body: JSON.stringify({ error: result.error, error_description: result.description }, null, 2) };
}

const page = (status: number, message: string) => oauthErrorPage(status, message, 'Stripe Connect error', 'Something went wrong');

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
