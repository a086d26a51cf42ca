// Intuit's OAuth 2.0 for the emulator, on the shared grant book: GET /connect/oauth2 approves at
// once and redirects with code, state and realmId (the company the user picked); POST
// /oauth2/v1/tokens/bearer takes a form with the client authenticated by HTTP Basic (as
// intuit-oauth sends it) and answers {token_type:"bearer", access_token, refresh_token,
// expires_in: 3600, x_refresh_token_expires_in}; every refresh rotates the refresh token (the old
// one is dead at once, the new one must be stored before use). POST /v2/oauth2/tokens/revoke takes
// {"token"} as JSON (intuit-oauth) or a form (node-quickbooks, RFC 7009 clients) and revokes the
// whole grant: access and refresh tokens of that authorization.
import { randomBytes } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { OAuthGrantBook, oauthErrorPage, sameSecret, type OAuthAdminSwitches, type OAuthGrantLogEntry } from '../../sdk/oauth-emulator.ts';

export interface QboOAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export const ACCESS_TOKEN_TTL_SECONDS = 3600;
/** 101 days, rolling; not enforced by the emulator. */
export const REFRESH_TOKEN_TTL_SECONDS = 8_726_400;

interface Grant {
  realmId: string;
  scope: string;
  /** One authorization: revocation ends every token it issued. */
  grantId: string;
  redirectUri?: string;
}
interface LogEntry extends OAuthGrantLogEntry {
  endpoint: 'token' | 'revoke';
  /** How the client sent the body (revocation accepts JSON and forms). */
  contentType: string | null;
}

const json = (status: number, body?: unknown): EmulatorReply => ({
  status,
  headers: { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-store', intuit_tid: randomBytes(12).toString('hex') },
  ...(body === undefined ? {} : { body }),
});
const oauthError = (status: number, error: string) => json(status, { error });

export class QboOAuth {
  readonly book: OAuthGrantBook<Grant, Grant, LogEntry>;
  private readonly clients = new Map<string, QboOAuthClient>();

  constructor(
    clients: QboOAuthClient[],
    private readonly realmId: string,
    now: () => number = Date.now,
  ) {
    for (const c of clients) this.clients.set(c.clientId, c);
    this.book = new OAuthGrantBook<Grant, Grant, LogEntry>({
      accessTokenTtlMs: ACCESS_TOKEN_TTL_SECONDS * 1000,
      codeTtlMs: 5 * 60_000,
      rotateRefreshTokens: true,
      newCode: () => `AB11${randomBytes(20).toString('base64url')}`,
      newAccessToken: () => `eyJlbmMiOiJBMTI4Q0JDLUhTMjU2IiwiYWxnIjoiZGlyIn0..${randomBytes(32).toString('base64url')}`,
      newRefreshToken: () => `RT1-${randomBytes(24).toString('hex')}`,
      now,
    });
  }

  /** The realm a live access token was issued for, or null. */
  realmOf(accessToken: string): { realmId: string } | { refused: string } | null {
    const check = this.book.checkAccess(accessToken);
    if (check.status === 'unknown') return null;
    if (check.status === 'revoked') return { refused: 'Token revoked' };
    if (check.status === 'expired') return { refused: `Token expired: ${Math.round(check.expiredMs / 1000)} seconds ago` };
    return { realmId: check.grant.realmId };
  }

  routes(): EmulatorRoute[] {
    return [
      { method: 'GET', path: '/connect/oauth2', operation: 'oauth.authorize', handler: (req) => this.authorize(req) },
      { method: 'POST', path: '/oauth2/v1/tokens/bearer', operation: 'oauth.token', handler: (req) => this.token(req) },
      { method: 'POST', path: '/v2/oauth2/tokens/revoke', operation: 'oauth.revoke', handler: (req) => this.revoke(req) },
    ];
  }

  private authorize(req: EmulatorRequest): EmulatorReply {
    const q = req.query;
    const client = this.clients.get(q.get('client_id') ?? '');
    if (!client) return oauthErrorPage(400, 'invalid_client: The client_id is not valid.', 'Intuit', 'Something went wrong');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirectUri))
      return oauthErrorPage(
        400,
        "The redirect_uri query parameter value is invalid. Make sure it is listed in the Redirect URIs section on your app's keys tab and matches it exactly.",
        'Intuit',
        'Something went wrong',
      );
    const target = new URL(redirectUri);
    if (q.get('response_type') !== 'code' || !q.get('scope')) {
      target.searchParams.set('error', q.get('scope') ? 'unsupported_response_type' : 'invalid_scope');
      target.searchParams.set('state', q.get('state') ?? '');
      return { status: 302, headers: { location: target.toString() } };
    }
    const code = this.book.issueCode(client.clientId, {
      realmId: this.realmId,
      scope: q.get('scope') ?? '',
      grantId: randomBytes(8).toString('hex'),
      redirectUri,
    });
    target.searchParams.set('code', code);
    target.searchParams.set('state', q.get('state') ?? '');
    target.searchParams.set('realmId', this.realmId);
    return { status: 302, headers: { location: target.toString() } };
  }

  /** The client named by HTTP Basic, if its secret matches. */
  private client(req: EmulatorRequest): QboOAuthClient | null {
    const m = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (!m) return null;
    const decoded = Buffer.from(m[1] as string, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) return null;
    const client = this.clients.get(decodeURIComponent(decoded.slice(0, colon)));
    return client && sameSecret(decodeURIComponent(decoded.slice(colon + 1)), client.clientSecret) ? client : null;
  }

  private token(req: EmulatorRequest): EmulatorReply {
    const contentType = String(req.headers['content-type'] ?? '') || null;
    const p = new URLSearchParams(req.rawBody.toString('utf8'));
    const grantType = p.get('grant_type') ?? '';
    const record = (error: string | null) => this.book.record({ grantType, error, endpoint: 'token', contentType });
    const client = this.client(req);
    if (!client) {
      record('invalid_client');
      return oauthError(401, 'invalid_client');
    }
    if (grantType === 'refresh_token') {
      const refresh = p.get('refresh_token') ?? '';
      const grant = this.book.liveRefresh(refresh);
      if (!grant || grant.clientId !== client.clientId) {
        record('invalid_grant');
        return oauthError(400, 'invalid_grant');
      }
      const issued = this.book.exchangeRefresh(refresh, { realmId: grant.realmId, scope: grant.scope, grantId: grant.grantId });
      record(null);
      return json(200, this.tokenBody(issued.accessToken, issued.refreshToken, req));
    }
    if (grantType !== 'authorization_code') {
      record('unsupported_grant_type');
      return oauthError(400, 'unsupported_grant_type');
    }
    const opened = this.book.openCode(p.get('code') ?? '', client.clientId);
    if (opened.status !== 'open' || opened.grant.redirectUri !== p.get('redirect_uri')) {
      if (opened.status === 'open') this.book.burnCode(opened.grant);
      record('invalid_grant');
      return oauthError(400, 'invalid_grant');
    }
    const { realmId, scope, grantId } = opened.grant;
    const issued = this.book.redeemCode(opened.grant, { realmId, scope, grantId });
    record(null);
    return json(200, this.tokenBody(issued.accessToken, issued.refreshToken, req));
  }

  private tokenBody(access: string, refresh: string, req: EmulatorRequest): Record<string, unknown> {
    return {
      token_type: 'bearer',
      access_token: access,
      refresh_token: refresh,
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      x_refresh_token_expires_in: REFRESH_TOKEN_TTL_SECONDS,
      // Sent only to clients that ask (intuit-oauth's includeRefreshTokenHardExpiresIn).
      ...(req.headers['x-include-refresh-token-hard-expires-in'] === 'true' ? { x_refresh_token_hard_expires_in: 5 * 365 * 86_400 } : {}),
    };
  }

  private revoke(req: EmulatorRequest): EmulatorReply {
    const contentType = String(req.headers['content-type'] ?? '') || null;
    const record = (error: string | null) => this.book.record({ grantType: 'revoke', error, endpoint: 'revoke', contentType });
    const client = this.client(req);
    if (!client) {
      record('invalid_client');
      return oauthError(401, 'invalid_client');
    }
    let token = '';
    const text = req.rawBody.toString('utf8');
    if (/json/i.test(contentType ?? '')) {
      try {
        const body = JSON.parse(text) as { token?: unknown };
        token = typeof body.token === 'string' ? body.token : '';
      } catch {
        record('invalid_request');
        return oauthError(400, 'invalid_request');
      }
    } else token = new URLSearchParams(text).get('token') ?? '';
    if (!token) {
      record('invalid_request');
      return oauthError(400, 'invalid_request');
    }
    // The grant the token belongs to, whether it is a refresh or an access token.
    const grant =
      this.book.liveRefresh(token) ??
      (this.book.checkAccess(token).status === 'live' ? (this.book.checkAccess(token) as { grant: Grant & { clientId: string } }).grant : undefined);
    if (grant && grant.clientId === client.clientId) this.book.revokeWhere((g) => g.grantId === grant.grantId);
    record(null);
    // 200 with an empty body, also for a token already dead (RFC 7009 §2.2).
    return json(200);
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
