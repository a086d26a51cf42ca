// Shopify's per-shop OAuth for the emulator, on the shared grant book: GET /admin/oauth/authorize
// approves at once and redirects with code, hmac, host, shop, state and timestamp (hmac signed
// with the app's client secret, as the callback check expects); POST /admin/oauth/access_token
// takes JSON or a form: the authorization code (`expiring: 1` → a 3600 s token with a refresh
// token) or grant_type=refresh_token, which rotates the refresh token on every use. Since
// 2026-08-28 a used refresh token stays usable until its replacement is first used (at most 30
// days from its first use), so a client whose refresh answer was lost can retry (Shopify
// changelog "More resilient refreshes for expiring offline access tokens"). What a retry does to
// the replacement issued before it is not documented: here it stays usable too. Token answers
// carry no `token_type` (@shopify/shopify-api AccessTokenResponse: access_token, scope, then
// expires_in, refresh_token, refresh_token_expires_in for expiring tokens).
import { randomBytes } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { OAuthGrantBook, oauthErrorPage, sameSecret, type OAuthAdminSwitches } from '../../sdk/oauth-emulator.ts';
import { signCallbackQuery } from '../oauth-hmac.ts';

export interface ShopifyOAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

/** Expiring offline tokens live an hour; the refresh token 90 days (not enforced here). */
export const ACCESS_TOKEN_TTL_SECONDS = 3600;
export const REFRESH_TOKEN_TTL_SECONDS = 7_776_000;
/** How long a used refresh token stays usable for a retry while its replacement is unused: 30 days from its first use. */
export const USED_REFRESH_RETAINED_MS = 30 * 24 * 3600 * 1000;

interface Grant {
  scope: string;
  expiring: boolean;
}

const token = (prefix: string) => `${prefix}${randomBytes(16).toString('hex')}`;
const json = (status: number, body: unknown): EmulatorReply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body,
});
const oauthError = (error: string, description: string, status = 400) => json(status, { error, error_description: description });

export class ShopifyOAuth {
  readonly book: OAuthGrantBook<Grant, Grant>;
  private readonly clients = new Map<string, ShopifyOAuthClient>();

  constructor(
    clients: ShopifyOAuthClient[],
    private readonly shop: string,
    private readonly now: () => number = Date.now,
  ) {
    for (const c of clients) this.clients.set(c.clientId, c);
    this.book = new OAuthGrantBook({
      accessTokenTtlMs: ACCESS_TOKEN_TTL_SECONDS * 1000,
      codeTtlMs: 60_000,
      rotateRefreshTokens: true,
      retainUsedRefreshMs: USED_REFRESH_RETAINED_MS,
      newCode: () => randomBytes(16).toString('hex'),
      newAccessToken: () => token('shpat_'),
      newRefreshToken: () => token('shprt_'),
      now,
    });
  }

  /** The only client secret when exactly one app is registered (Shopify signs webhooks with it). */
  soleClientSecret(): string | null {
    return this.clients.size === 1 ? ([...this.clients.values()][0] as ShopifyOAuthClient).clientSecret : null;
  }

  /** Whether `accessToken` is a live token issued here. */
  accepts(accessToken: string): boolean {
    return this.book.checkAccess(accessToken).status === 'live';
  }

  routes(): EmulatorRoute[] {
    return [
      { method: 'GET', path: '/admin/oauth/authorize', operation: 'oauth.authorize', handler: (req) => this.authorize(req) },
      { method: 'POST', path: '/admin/oauth/access_token', operation: 'oauth.token', handler: (req) => this.token(req) },
    ];
  }

  private authorize(req: EmulatorRequest): EmulatorReply {
    const q = req.query;
    const client = this.clients.get(q.get('client_id') ?? '');
    if (!client) return oauthErrorPage(400, 'Oauth error invalid_request: The client_id is not valid.', 'Shopify', 'Oauth error');
    const redirectUri = q.get('redirect_uri') ?? client.redirectUris[0] ?? '';
    if (!client.redirectUris.includes(redirectUri))
      return oauthErrorPage(400, 'Oauth error invalid_request: The redirect_uri is not whitelisted', 'Shopify', 'Oauth error');
    const expiring = q.getAll('grant_options[]').length === 0;
    const code = this.book.issueCode(client.clientId, { scope: q.get('scope') ?? '', expiring });
    const callback = new URLSearchParams({
      code,
      host: Buffer.from(`admin.shopify.com/store/${this.shop.replace(/\.myshopify\.com$/, '')}`).toString('base64url'),
      shop: this.shop,
      state: q.get('state') ?? '',
      timestamp: String(Math.floor(this.now() / 1000)),
    });
    callback.set('hmac', signCallbackQuery(callback, client.clientSecret));
    const target = new URL(redirectUri);
    for (const [k, v] of callback) target.searchParams.set(k, v);
    return { status: 302, headers: { location: target.toString() } };
  }

  private params(req: EmulatorRequest): URLSearchParams {
    const text = req.rawBody.toString('utf8');
    if (/json/.test(String(req.headers['content-type'] ?? ''))) {
      try {
        const body = JSON.parse(text) as Record<string, unknown>;
        return new URLSearchParams(Object.entries(body).map(([k, v]) => [k, String(v)]));
      } catch {
        return new URLSearchParams();
      }
    }
    return new URLSearchParams(text);
  }

  private token(req: EmulatorRequest): EmulatorReply {
    const p = this.params(req);
    const client = this.clients.get(p.get('client_id') ?? '');
    const grantType = p.get('grant_type') ?? 'authorization_code';
    if (!client || !sameSecret(p.get('client_secret') ?? '', client.clientSecret)) {
      this.book.record({ grantType, error: 'invalid_client' });
      return oauthError('invalid_client', 'Client credentials are invalid', 401);
    }
    if (grantType === 'refresh_token') {
      const refresh = p.get('refresh_token') ?? '';
      const grant = this.book.liveRefresh(refresh);
      if (!grant || grant.clientId !== client.clientId) {
        this.book.record({ grantType, error: 'invalid_grant' });
        return oauthError('invalid_grant', 'The refresh token is invalid, expired or revoked.');
      }
      const issued = this.book.exchangeRefresh(refresh, { scope: grant.scope, expiring: true });
      this.book.record({ grantType, error: null });
      return json(200, this.tokenBody(issued.accessToken, issued.refreshToken, grant.scope, true));
    }
    const opened = this.book.openCode(p.get('code') ?? '', client.clientId);
    if (opened.status !== 'open') {
      this.book.record({ grantType, error: 'invalid_grant' });
      return oauthError('invalid_request', 'The authorization code was not found or was already used');
    }
    const expiring = p.get('expiring') === '1' && opened.grant.expiring;
    const issued = this.book.redeemCode(opened.grant, { scope: opened.grant.scope, expiring });
    this.book.record({ grantType, error: null });
    return json(200, this.tokenBody(issued.accessToken, expiring ? issued.refreshToken : null, opened.grant.scope, expiring));
  }

  private tokenBody(access: string, refresh: string | null, scope: string, expiring: boolean): Record<string, unknown> {
    return {
      access_token: access,
      scope,
      ...(expiring && refresh ? { expires_in: ACCESS_TOKEN_TTL_SECONDS, refresh_token: refresh, refresh_token_expires_in: REFRESH_TOKEN_TTL_SECONDS } : {}),
    };
  }

  // --- the kit's admin part ---------------------------------------------------------------------
  configure(input: OAuthAdminSwitches): void {
    this.book.configure(input);
  }
  state(): object {
    return this.book.state();
  }
  grants(): unknown[] {
    return this.book.grants();
  }
}
