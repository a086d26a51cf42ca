// The second half of the authorization-code flow (see flow.ts for the whole): the provider's
// redirect back. It checks the browser binding, takes the pending authorization by state (single
// use), lets the connector check the callback (signatures), exchanges the code, stores the grant,
// records the outcome in the audit log and answers the browser (JSON, or a redirect to the
// tenant's return URL).
import * as client from 'openid-client';
import { ConnectorError } from '../../../connectors/sdk/errors.ts';
import type { ManagedConnection } from '../connections.ts';
import type { ResolvedOAuthApp } from '../provider-apps.ts';
import { stateKey, type PendingAuthorization } from './authorization.ts';
import { bindingCookieName, readCookie, refuse, setCookie, type CookieSigner, type HttpAnswer } from './browser.ts';
import { storeGrant } from './grant-store.ts';
import { oauthErrorCode, type ConnectShared } from './shared.ts';

export class AuthorizationCallback {
  constructor(
    private readonly shared: ConnectShared,
    private readonly cookies: CookieSigner,
  ) {}

  async callback(connectorId: string, requestUrl: URL, cookieHeader?: string | null): Promise<HttpAnswer> {
    const { connections } = this.shared.deps;
    const state = requestUrl.searchParams.get('state');
    if (!state) return refuse('missing state parameter');
    // Checked before the state is taken, so a foreign browser cannot burn a genuine authorization.
    // The pending authorization says whether its cookie was set over https (`__Host-` name only).
    const peeked = await connections.peekSession<PendingAuthorization>(stateKey(state));
    if (!peeked) return refuse('unknown, already used or expired state: start the connection again');
    const binding = readCookie(cookieHeader, bindingCookieName(state), peeked.redirectUri.startsWith('https:'));
    if (!this.cookies.verify(binding, 'bind', state)) {
      return refuse('this browser did not start this authorization: open the connect link and finish in the same browser');
    }
    const pending = await connections.takeSession<PendingAuthorization>(stateKey(state));
    if (!pending) return refuse('unknown, already used or expired state: start the connection again');
    if (pending.connector !== connectorId) return refuse('this authorization belongs to another connector');
    if (requestUrl.pathname !== new URL(pending.redirectUri).pathname)
      return refuse('the callback URL is not the redirect URI this authorization was started with');
    const app = this.shared.deps.apps.oauthApp(connectorId, pending.params);
    if (!app) return refuse('the OAuth app for this connector is no longer registered');
    if (app.mode.pkce && !pending.verifier) return refuse('the PKCE verifier of this authorization is missing');
    const signed = this.shared.connector(connectorId).auth?.verifyCallback?.({
      query: requestUrl.searchParams,
      clientSecret: app.clientSecret,
      params: pending.params,
      now: Date.now(),
    });
    if (signed && !signed.ok) return refuse(signed.error.message);
    const providerError = requestUrl.searchParams.get('error');
    const code = oauthErrorCode(providerError, 'access_denied');
    if (providerError) return this.finish(pending, state, null, `the provider refused the authorization (${code})`, code);
    return this.redeem(pending, state, app, requestUrl);
  }

  /** Exchanges the code (with the PKCE verifier) and stores what the grant yields. */
  private async redeem(pending: PendingAuthorization, state: string, app: ResolvedOAuthApp, requestUrl: URL): Promise<HttpAnswer> {
    // The redirect URI as registered, with the query the provider sent back: openid-client checks
    // state and sends redirect_uri + code_verifier to the token endpoint.
    const currentUrl = new URL(pending.redirectUri);
    currentUrl.search = requestUrl.search;
    let tokens: client.TokenEndpointResponse;
    try {
      tokens = await client.authorizationCodeGrant(
        this.shared.oauthConfig(app),
        currentUrl,
        { expectedState: state, ...(pending.verifier ? { pkceCodeVerifier: pending.verifier } : {}) },
        app.mode.tokenParams,
      );
    } catch (err) {
      const code = err instanceof client.ResponseBodyError ? oauthErrorCode(err.error, 'invalid_response') : null;
      return refuse(code ? `the provider rejected the authorization code (${code})` : 'the authorization code could not be exchanged with the provider');
    }
    let stored: ManagedConnection[];
    try {
      stored = await storeGrant(this.shared, {
        tenantId: pending.tenantId,
        connectorId: pending.connector,
        app,
        tokens,
        params: pending.params,
        callbackParams: Object.fromEntries(requestUrl.searchParams),
        reconnect: pending.reconnect,
        auth: 'OAUTH2',
      });
    } catch (err) {
      if (err instanceof ConnectorError) return refuse(err.message);
      throw err;
    }
    return this.finish(pending, state, stored, null);
  }

  private async finish(
    pending: PendingAuthorization,
    state: string,
    connections: ManagedConnection[] | null,
    error: string | null,
    errorCode = 'access_denied',
  ): Promise<HttpAnswer> {
    await this.shared.audited({
      tenantId: pending.tenantId,
      action: pending.reconnect ? 'connection.reconnected' : 'connection.connected',
      actor: pending.actor ?? 'unknown',
      requestId: pending.requestId ?? null,
      outcome: connections?.length ? 'success' : 'failure',
      target: connections?.[0]?.id ?? pending.reconnect,
      detail: {
        provider: pending.connector,
        ...(connections && connections.length > 1 ? { connectionIds: connections.map((c) => c.id) } : {}),
        ...(error ? { error } : {}),
      },
    });
    const answer = finishAnswer(pending, connections, error, errorCode);
    const clear = setCookie(bindingCookieName(state), '', {
      https: pending.redirectUri.startsWith('https:'),
      path: new URL(pending.redirectUri).pathname,
      maxAge: 0,
      sameSite: 'Lax',
    });
    return { ...answer, headers: { ...answer.headers, 'set-cookie': clear } };
  }
}

/** The browser's answer: a redirect to the tenant's return URL when it gave one, else JSON. */
function finishAnswer(pending: PendingAuthorization, connections: ManagedConnection[] | null, error: string | null, errorCode: string): HttpAnswer {
  const connection = connections?.[0] ?? null;
  if (pending.returnUrl) {
    const target = new URL(pending.returnUrl);
    if (connection) {
      target.searchParams.set('connection_id', connection.id);
      target.searchParams.set('status', 'connected');
    } else target.searchParams.set('error', errorCode);
    return { status: 302, headers: { location: target.href, 'cache-control': 'no-store' } };
  }
  if (!connection) return refuse(error ?? 'the connection failed');
  const more = connections && connections.length > 1 ? { connectionIds: connections.map((c) => c.id) } : {};
  return {
    status: 200,
    body: { status: 'connected', connectionId: connection.id, ...more, provider: connection.provider, message: 'Connected. You can close this window.' },
  };
}
