// Salesforce's OAuth 2.0 web-server flow for the emulator, on the shared grant book:
// GET /services/oauth2/authorize approves at once and redirects with code and state (PKCE S256
// challenge remembered); POST /services/oauth2/token takes a form: authorization_code (with
// code_verifier when a challenge was sent) or refresh_token (the same refresh token back unless
// rotation is switched on). The answer has no expires_in; it carries instance_url, id, issued_at
// and signature (HMAC-SHA256 of id + issued_at with the client secret). POST /services/oauth2/revoke
// revokes an access or refresh token (a refresh token takes its access tokens with it).
import { createHash, createHmac, randomBytes } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { OAuthGrantBook, sameSecret, type OAuthAdminSwitches } from '../../sdk/oauth-emulator.ts';

export interface SalesforceOAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

/** Session timeout default (2 h; UNCONFIRMED, org policy). Access tokens past it answer 401 INVALID_SESSION_ID. */
export const SESSION_TTL_MS = 2 * 3600_000;
const ORG_ID = '00D5g000004ORGXEAA';

interface CodeExtra {
  scope: string;
  redirectUri: string;
  challenge: string | null;
}
interface TokenExtra {
  scope: string;
}

const json = (status: number, body: unknown): EmulatorReply => ({
  status,
  headers: { 'content-type': 'application/json;charset=UTF-8', 'cache-control': 'no-cache,must-revalidate,max-age=0,no-store,private' },
  body,
});
const oauthError = (error: string, description: string, status = 400) => json(status, { error, error_description: description });

export class SalesforceOAuth {
  readonly book: OAuthGrantBook<CodeExtra, TokenExtra>;
  private readonly clients = new Map<string, SalesforceOAuthClient>();

  constructor(
    clients: SalesforceOAuthClient[],
    private readonly instanceUrl: () => string,
  ) {
    for (const c of clients) this.clients.set(c.clientId, c);
    this.book = new OAuthGrantBook({
      accessTokenTtlMs: SESSION_TTL_MS,
      codeTtlMs: 15 * 60_000,
      rotateRefreshTokens: false,
      newCode: () => `aPrx${randomBytes(24).toString('base64url')}`,
      // Session ids look like `00D…!AQ…`.
      newAccessToken: () => `${ORG_ID.slice(0, 15)}!AQ${randomBytes(40).toString('base64url').replace(/[-_]/g, 'x')}`,
      newRefreshToken: () => `5Aep861${randomBytes(32).toString('base64url').replace(/[-_]/g, 'x')}`,
      now: Date.now,
    });
  }

  accepts(token: string): boolean {
    return this.book.checkAccess(token).status === 'live';
  }

  routes(): EmulatorRoute[] {
    return [
      { method: 'GET', path: '/services/oauth2/authorize', operation: 'oauth.authorize', handler: (req) => this.authorize(req) },
      { method: 'POST', path: '/services/oauth2/token', operation: 'oauth.token', handler: (req) => this.token(req) },
      { method: 'POST', path: '/services/oauth2/revoke', operation: 'oauth.revoke', handler: (req) => this.revoke(req) },
    ];
  }

  private authorize(req: EmulatorRequest): EmulatorReply {
    const q = req.query;
    const client = this.clients.get(q.get('client_id') ?? '');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (q.get('response_type') !== 'code') return { status: 400, body: 'error=unsupported_response_type&error_description=response type not supported' };
    if (!client) return { status: 400, body: 'error=invalid_client_id&error_description=client identifier invalid' };
    if (!client.redirectUris.includes(redirectUri))
      return { status: 400, body: 'error=redirect_uri_mismatch&error_description=redirect_uri must match configuration' };
    const method = q.get('code_challenge_method');
    const challenge = q.get('code_challenge');
    if (challenge && method && method !== 'S256') return this.redirectError(redirectUri, q.get('state'), 'invalid_request', 'invalid code challenge method');
    const code = this.book.issueCode(client.clientId, { scope: q.get('scope') ?? 'api refresh_token', redirectUri, challenge });
    const target = new URL(redirectUri);
    target.searchParams.set('code', code);
    if (q.get('state') !== null) target.searchParams.set('state', q.get('state') as string);
    return { status: 302, headers: { location: target.toString() } };
  }

  private redirectError(redirectUri: string, state: string | null, error: string, description: string): EmulatorReply {
    const target = new URL(redirectUri);
    target.searchParams.set('error', error);
    target.searchParams.set('error_description', description);
    if (state !== null) target.searchParams.set('state', state);
    return { status: 302, headers: { location: target.toString() } };
  }

  private form(req: EmulatorRequest): URLSearchParams {
    return new URLSearchParams(req.rawBody.toString('utf8'));
  }

  private clientOf(p: URLSearchParams, req: EmulatorRequest): SalesforceOAuthClient | null {
    let id = p.get('client_id');
    let secret = p.get('client_secret');
    const basic = /^Basic\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const [u, s] = Buffer.from(basic[1] as string, 'base64')
        .toString('utf8')
        .split(':');
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(s ?? '');
    }
    const client = this.clients.get(id ?? '');
    return client && secret !== null && sameSecret(secret, client.clientSecret) ? client : null;
  }

  private token(req: EmulatorRequest): EmulatorReply {
    const p = this.form(req);
    const grantType = p.get('grant_type') ?? '';
    const client = this.clientOf(p, req);
    if (grantType !== 'authorization_code' && grantType !== 'refresh_token') {
      this.book.record({ grantType, error: 'unsupported_grant_type' });
      return oauthError('unsupported_grant_type', 'grant type not supported');
    }
    if (!client) {
      this.book.record({ grantType, error: 'invalid_client' });
      return oauthError('invalid_client', 'invalid client credentials');
    }
    if (grantType === 'refresh_token') {
      const refresh = p.get('refresh_token') ?? '';
      const grant = this.book.liveRefresh(refresh);
      if (!grant || grant.clientId !== client.clientId) {
        this.book.record({ grantType, error: 'invalid_grant' });
        return oauthError('invalid_grant', 'expired access/refresh token');
      }
      const issued = this.book.exchangeRefresh(refresh, { scope: grant.scope });
      this.book.record({ grantType, error: null });
      // Without rotation Salesforce answers no refresh_token on a refresh.
      return json(200, this.body(client, issued.accessToken, this.book.rotateRefreshTokens ? issued.refreshToken : null, grant.scope));
    }
    const opened = this.book.openCode(p.get('code') ?? '', client.clientId);
    if (opened.status !== 'open') {
      this.book.record({ grantType, error: 'invalid_grant' });
      return oauthError('invalid_grant', 'invalid authorization code');
    }
    const { grant } = opened;
    if (p.get('redirect_uri') !== grant.redirectUri) {
      this.book.burnCode(grant);
      this.book.record({ grantType, error: 'redirect_uri_mismatch' });
      return oauthError('redirect_uri_mismatch', 'redirect_uri must match configuration');
    }
    if (grant.challenge) {
      const verifier = p.get('code_verifier') ?? '';
      if (createHash('sha256').update(verifier).digest('base64url') !== grant.challenge) {
        this.book.burnCode(grant);
        this.book.record({ grantType, error: 'invalid_grant' });
        return oauthError('invalid_grant', 'invalid code verifier');
      }
    }
    const issued = this.book.redeemCode(grant, { scope: grant.scope });
    this.book.record({ grantType, error: null });
    const wantsRefresh = /\b(refresh_token|offline_access)\b/.test(grant.scope);
    return json(200, this.body(client, issued.accessToken, wantsRefresh ? issued.refreshToken : null, grant.scope));
  }

  private body(client: SalesforceOAuthClient, access: string, refresh: string | null, scope: string): Record<string, unknown> {
    const id = `${this.instanceUrl()}/id/${ORG_ID}/0055g00000AbCdEFGH`;
    const issuedAt = String(Date.now());
    return {
      access_token: access,
      ...(refresh ? { refresh_token: refresh } : {}),
      signature: createHmac('sha256', client.clientSecret)
        .update(id + issuedAt)
        .digest('base64'),
      scope,
      instance_url: this.instanceUrl(),
      id,
      token_type: 'Bearer',
      issued_at: issuedAt,
    };
  }

  private revoke(req: EmulatorRequest): EmulatorReply {
    const token = this.form(req).get('token') ?? '';
    // Revoking a refresh token revokes its access tokens too; an unknown token is refused.
    if (this.book.revokeRefresh(token)) return { status: 200 };
    const check = this.book.checkAccess(token);
    if (check.status === 'live' && this.book.revokeAccess(token, check.grant.clientId)) return { status: 200 };
    return oauthError('unsupported_token_type', 'this token type is not supported');
  }

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
