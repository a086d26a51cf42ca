// Xero Identity for the emulator, on the shared grant book: GET /identity/connect/authorize (login.
// xero.com) approves at once, connecting every emulated organisation under one new authEventId,
// and redirects with code and state; POST /connect/token (identity.xero.com) authenticates the app
// with HTTP Basic, checks the PKCE verifier when the authorize call sent a challenge, and answers
// 30-minute access tokens shaped like Xero's JWTs (the payload carries authentication_event_id and
// xero_userid) with a refresh token that rotates on every use; POST /connect/revocation revokes a
// refresh token, which disconnects every organisation of that grant. GET /connections lists the
// user's connections (optionally ?authEventId=), DELETE /connections/{id} removes one.
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { OAuthGrantBook, oauthErrorPage, sameSecret } from '../../sdk/oauth-emulator.ts';
import type { XeroStore } from './store.ts';

export interface XeroOAuthClient {
  clientId: string;
  clientSecret: string;
  redirectUris: string[];
}

export const ACCESS_TOKEN_TTL_SECONDS = 1800;

interface CodeGrant {
  redirectUri: string;
  scope: string;
  challenge: string | null;
  authEventId: string;
  userId: string;
}
interface TokenGrant {
  scope: string;
  authEventId: string;
  userId: string;
}

export interface ConnectionRecord {
  id: string;
  tenantId: string;
  authEventId: string;
  userId: string;
  clientId: string;
  createdMs: number;
}

/** The one emulated Xero user who approves every authorization. */
export const EMULATOR_USER_ID = 'a1b2c3d4-0000-4000-8000-00000000e001';

const json = (status: number, body: unknown): EmulatorReply => ({
  status,
  headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' },
  body,
});
const oauthError = (error: string, status = 400) => json(status, { error });
const b64url = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
const isoNoZone = (ms: number) => new Date(ms).toISOString().replace('Z', '0000');

export class XeroOAuth {
  readonly book: OAuthGrantBook<CodeGrant, TokenGrant>;
  readonly connections = new Map<string, ConnectionRecord>();
  private readonly clients = new Map<string, XeroOAuthClient>();
  /** Claims of the access token being issued (the book's token factory takes no arguments). */
  private claims: TokenGrant & { clientId: string } = { scope: '', authEventId: '', userId: '', clientId: '' };

  constructor(
    clients: XeroOAuthClient[],
    private readonly store: XeroStore,
    private readonly now: () => number = Date.now,
  ) {
    for (const c of clients) this.clients.set(c.clientId, c);
    this.book = new OAuthGrantBook({
      accessTokenTtlMs: ACCESS_TOKEN_TTL_SECONDS * 1000,
      codeTtlMs: 5 * 60_000,
      rotateRefreshTokens: true,
      newCode: () => randomBytes(24).toString('hex'),
      newAccessToken: () => this.jwt(),
      newRefreshToken: () => randomBytes(32).toString('hex'),
      now,
    });
  }

  /** The organisations an access token may read, or null when it is not a live token issued here. */
  tenantsOf(accessToken: string): Set<string> | null {
    const check = this.book.checkAccess(accessToken);
    if (check.status !== 'live') return null;
    const { userId, clientId } = check.grant;
    return new Set([...this.connections.values()].filter((c) => c.userId === userId && c.clientId === clientId).map((c) => c.tenantId));
  }

  routes(): EmulatorRoute[] {
    return [
      { method: 'GET', path: '/identity/connect/authorize', operation: 'oauth.authorize', handler: (req) => this.authorize(req) },
      { method: 'POST', path: '/connect/token', operation: 'oauth.token', handler: (req) => this.token(req) },
      { method: 'POST', path: '/connect/revocation', operation: 'oauth.revocation', handler: (req) => this.revoke(req) },
      { method: 'GET', path: '/connections', operation: 'connections.list', handler: (req) => this.listConnections(req) },
      { method: 'DELETE', path: '/connections/:id', operation: 'connections.delete', handler: (req) => this.deleteConnection(req) },
    ];
  }

  private jwt(): string {
    const now = Math.floor(this.now() / 1000);
    const c = this.claims;
    const payload = {
      nbf: now,
      exp: now + ACCESS_TOKEN_TTL_SECONDS,
      iss: 'https://identity.xero.com',
      aud: 'https://identity.xero.com/resources',
      client_id: c.clientId,
      sub: c.userId.replace(/-/g, ''),
      auth_time: now,
      xero_userid: c.userId,
      global_session_id: randomUUID().replace(/-/g, ''),
      jti: randomUUID().replace(/-/g, ''),
      authentication_event_id: c.authEventId,
      scope: c.scope.split(' ').filter(Boolean),
    };
    return `${b64url({ alg: 'RS256', kid: 'emulator', typ: 'JWT' })}.${b64url(payload)}.${randomBytes(32).toString('base64url')}`;
  }

  private authorize(req: EmulatorRequest): EmulatorReply {
    const q = req.query;
    const client = this.clients.get(q.get('client_id') ?? '');
    if (!client) return oauthErrorPage(400, 'unauthorized_client: unknown client_id', 'Xero', 'Sorry, something went wrong');
    const redirectUri = q.get('redirect_uri') ?? '';
    if (!client.redirectUris.includes(redirectUri)) return oauthErrorPage(400, 'invalid redirect_uri', 'Xero', 'Sorry, something went wrong');
    const back = new URL(redirectUri);
    const state = q.get('state');
    if (state !== null) back.searchParams.set('state', state);
    if (q.get('response_type') !== 'code') {
      back.searchParams.set('error', 'unsupported_response_type');
      return { status: 302, headers: { location: back.toString() } };
    }
    const method = q.get('code_challenge_method');
    const challenge = q.get('code_challenge');
    if (challenge !== null && method !== 'S256') {
      back.searchParams.set('error', 'invalid_request');
      return { status: 302, headers: { location: back.toString() } };
    }
    // The user approves and picks every organisation: one auth event connects them all.
    const authEventId = randomUUID();
    const at = this.now();
    for (const org of this.store.orgs.values()) {
      const existing = [...this.connections.values()].find(
        (c) => c.tenantId === org.tenantId && c.userId === EMULATOR_USER_ID && c.clientId === client.clientId,
      );
      // Reconnecting an organisation keeps its connection id and moves it to the new auth event.
      if (existing) existing.authEventId = authEventId;
      else {
        const id = randomUUID();
        this.connections.set(id, { id, tenantId: org.tenantId, authEventId, userId: EMULATOR_USER_ID, clientId: client.clientId, createdMs: at });
      }
    }
    const code = this.book.issueCode(client.clientId, { redirectUri, scope: q.get('scope') ?? '', challenge, authEventId, userId: EMULATOR_USER_ID });
    back.searchParams.set('code', code);
    back.searchParams.set('scope', q.get('scope') ?? '');
    return { status: 302, headers: { location: back.toString() } };
  }

  /** Xero's token endpoint takes the app's credentials as HTTP Basic (or in the form). */
  private client(req: EmulatorRequest, form: URLSearchParams): XeroOAuthClient | null {
    let id = form.get('client_id');
    let secret = form.get('client_secret');
    const basic = /^Basic\s+(.+)$/i.exec(String(req.headers.authorization ?? ''));
    if (basic) {
      const decoded = Buffer.from(basic[1]!, 'base64').toString('utf8');
      const at = decoded.indexOf(':');
      id = decodeURIComponent(decoded.slice(0, at));
      secret = decodeURIComponent(decoded.slice(at + 1));
    }
    const client = this.clients.get(id ?? '');
    return client && secret !== null && sameSecret(client.clientSecret, secret) ? client : null;
  }

  private token(req: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const client = this.client(req, form);
    const grantType = form.get('grant_type') ?? '';
    if (!client) {
      this.book.record({ grantType, error: 'invalid_client' });
      return oauthError('invalid_client');
    }
    if (grantType === 'authorization_code') {
      const opened = this.book.openCode(form.get('code') ?? '', client.clientId);
      if (opened.status !== 'open' || opened.grant.redirectUri !== form.get('redirect_uri')) {
        this.book.record({ grantType, error: 'invalid_grant' });
        return oauthError('invalid_grant');
      }
      const { challenge } = opened.grant;
      if (challenge !== null) {
        const verifier = form.get('code_verifier') ?? '';
        if (createHash('sha256').update(verifier).digest('base64url') !== challenge) {
          this.book.burnCode(opened.grant);
          this.book.record({ grantType, error: 'invalid_grant' });
          return oauthError('invalid_grant');
        }
      }
      const extra = { scope: opened.grant.scope, authEventId: opened.grant.authEventId, userId: opened.grant.userId };
      this.claims = { ...extra, clientId: client.clientId };
      const issued = this.book.redeemCode(opened.grant, extra);
      this.book.record({ grantType, error: null });
      return this.tokenAnswer(issued, extra.scope);
    }
    if (grantType === 'refresh_token') {
      const refresh = form.get('refresh_token') ?? '';
      const live = this.book.liveRefresh(refresh);
      if (!live || live.clientId !== client.clientId) {
        this.book.record({ grantType, error: 'invalid_grant' });
        return oauthError('invalid_grant');
      }
      const extra = { scope: live.scope, authEventId: live.authEventId, userId: live.userId };
      this.claims = { ...extra, clientId: client.clientId };
      const issued = this.book.exchangeRefresh(refresh, extra);
      this.book.record({ grantType, error: null });
      return this.tokenAnswer(issued, extra.scope);
    }
    this.book.record({ grantType, error: 'unsupported_grant_type' });
    return oauthError('unsupported_grant_type');
  }

  private tokenAnswer(issued: { accessToken: string; refreshToken: string }, scope: string): EmulatorReply {
    const offline = scope.split(' ').includes('offline_access');
    return json(200, {
      access_token: issued.accessToken,
      expires_in: ACCESS_TOKEN_TTL_SECONDS,
      token_type: 'Bearer',
      ...(offline ? { refresh_token: issued.refreshToken } : {}),
      scope,
    });
  }

  /** RFC 7009: 200 whatever the token; a live refresh token ends its grant and its connections. */
  private revoke(req: EmulatorRequest): EmulatorReply {
    const form = new URLSearchParams(req.rawBody.toString('utf8'));
    const client = this.client(req, form);
    if (!client) return oauthError('invalid_client');
    const token = form.get('token') ?? '';
    const live = this.book.liveRefresh(token);
    if (live && live.clientId === client.clientId) {
      const { userId, clientId } = live;
      this.book.revokeWhere((g) => g.userId === userId && g.clientId === clientId);
      for (const [id, c] of this.connections) if (c.userId === userId && c.clientId === clientId) this.connections.delete(id);
    }
    return { status: 200 };
  }

  private bearerGrant(req: EmulatorRequest): (TokenGrant & { clientId: string }) | null {
    const m = /^Bearer\s+(\S+)$/i.exec(String(req.headers.authorization ?? ''));
    const check = m ? this.book.checkAccess(m[1]!) : null;
    return check?.status === 'live' ? check.grant : null;
  }

  private listConnections(req: EmulatorRequest): EmulatorReply {
    const grant = this.bearerGrant(req);
    if (!grant) return unauthorized();
    const filter = req.query.get('authEventId');
    const list = [...this.connections.values()]
      .filter((c) => c.userId === grant.userId && c.clientId === grant.clientId && (!filter || c.authEventId === filter))
      .map((c) => {
        const org = this.store.orgs.get(c.tenantId);
        return {
          id: c.id,
          authEventId: c.authEventId,
          tenantId: c.tenantId,
          tenantType: 'ORGANISATION',
          tenantName: org?.name ?? '',
          createdDateUtc: isoNoZone(c.createdMs),
          updatedDateUtc: isoNoZone(c.createdMs),
        };
      });
    return json(200, list);
  }

  private deleteConnection(req: EmulatorRequest): EmulatorReply {
    const grant = this.bearerGrant(req);
    if (!grant) return unauthorized();
    const c = this.connections.get(req.params.id ?? '');
    if (!c || c.userId !== grant.userId || c.clientId !== grant.clientId) return { status: 404 };
    this.connections.delete(c.id);
    return { status: 204 };
  }
}

export function unauthorized(): EmulatorReply {
  return json(401, { Type: null, Title: 'Unauthorized', Status: 401, Detail: 'AuthenticationUnsuccessful', Instance: randomUUID(), Extensions: {} });
}

export function forbidden(): EmulatorReply {
  return json(403, { Type: null, Title: 'Forbidden', Status: 403, Detail: 'AuthenticationUnsuccessful', Instance: randomUUID(), Extensions: {} });
}
