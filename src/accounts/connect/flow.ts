// Connecting a provider account, and letting go of it. This class is the one door the gateway
// uses; each concern lives in its own module:
//   authorization.ts  1–2. the connect session, the confirmation page and the start (state, PKCE)
//   callback.ts       3. the provider's redirect back: checks, code exchange, audit, the answer
//   grant-store.ts    storing a grant's connections (afterConnect hook, reconnect, vault first)
//   grants.ts         what a token response yields (settings, the API base URL)
//   client-credentials.ts, stored-secret.ts   the other ways to connect
//   lifecycle.ts, revocation.ts               disconnect (revocation kinds), enable/disable
//   browser.ts        HTML, cookies, return-URL checks; shared.ts what all of them use
//
// OAuth 2.0 authorization code + PKCE (openid-client):
//   1. createSession (GraphQL, tenant-authenticated, admin scope) stores a connect session under a
//      random 256-bit token and answers `<public URL>/connect/<connector>?session=<token>`.
//   2. GET /connect/<connector>?session=… shows a confirmation page naming the tenant the account
//      will be connected to (it does not use the session up, so link previewers cannot), with a
//      form that POSTs back with a token matching a SameSite=Strict cookie (a cross-site auto-POST
//      cannot skip the page). The POST takes the session (single use, TTL), stores a pending
//      authorization under a fresh random `state` (PKCE verifier, redirect URI, tenant), sets the
//      browser-binding cookie and redirects to the provider's authorize URL with the S256 challenge.
//   3. GET /connect/<connector>/callback?code&state takes the pending authorization by `state`
//      (single use: a replayed or altered state finds nothing), checks the callback URL is the
//      registered redirect URI, exchanges the code with the verifier, stores the tokens in the
//      vault and the connection's metadata, then announces ACTIVE.
//   Every refusal answers 400 and stores nothing: unknown/used/expired session, tampered or
//   replayed state, missing verifier, a redirect or return URL not on the allow-list, a code the
//   provider rejects (replayed code, PKCE mismatch → invalid_grant).
// The tenant binding lives server-side (session → pending authorization); nothing the browser
// carries can name another tenant. No provider is named in any of these modules: what differs
// between providers is declared by the connector (manifest.auth.oauth2, auth hooks).
import type { Tenant } from '../../callers/tenants.ts';
import type { ManagedConnection } from '../connections.ts';
import { AuthorizationStart } from './authorization.ts';
import { CookieSigner, type HttpAnswer } from './browser.ts';
import { AuthorizationCallback } from './callback.ts';
import { connectClientCredentials } from './client-credentials.ts';
import { disconnect, setEnabled, type DisconnectResult } from './lifecycle.ts';
import { ConnectShared, type ConnectFlowDeps } from './shared.ts';
import { connectWithSecret, type TenantSecret } from './stored-secret.ts';

export type { HttpAnswer } from './browser.ts';
export type { DisconnectResult } from './lifecycle.ts';
export { oauthErrorCode, type ConnectFlowDeps, type Requester } from './shared.ts';

export class ConnectFlow {
  private readonly shared: ConnectShared;
  private readonly starts: AuthorizationStart;
  private readonly callbacks: AuthorizationCallback;

  constructor(deps: ConnectFlowDeps) {
    this.shared = new ConnectShared(deps);
    const cookies = new CookieSigner(deps.vault.derivedKeys('connect-cookie/v1'));
    this.starts = new AuthorizationStart(this.shared, cookies);
    this.callbacks = new AuthorizationCallback(this.shared, cookies);
  }

  createSession(...args: Parameters<AuthorizationStart['createSession']>): Promise<{ url: string; expiresAt: string }> {
    return this.starts.createSession(...args);
  }

  /** GET: the confirmation page. Reads the session without using it up. */
  confirmPage(...args: Parameters<AuthorizationStart['confirmPage']>): Promise<HttpAnswer> {
    return this.starts.confirmPage(...args);
  }

  /** POST from the confirmation page: checks its token against the page's cookie, then starts. */
  confirmAndStart(...args: Parameters<AuthorizationStart['confirmAndStart']>): Promise<HttpAnswer> {
    return this.starts.confirmAndStart(...args);
  }

  callback(...args: Parameters<AuthorizationCallback['callback']>): Promise<HttpAnswer> {
    return this.callbacks.callback(...args);
  }

  connectClientCredentials(tenant: Tenant, connectorId: string, scopes: string[] | null): Promise<ManagedConnection> {
    return connectClientCredentials(this.shared, tenant, connectorId, scopes);
  }

  connectWithSecret(tenant: Tenant, connectorId: string, secret: TenantSecret, settings: Record<string, unknown>): Promise<ManagedConnection> {
    return connectWithSecret(this.shared, tenant, connectorId, secret, settings);
  }

  disconnect(tenant: Tenant, connectionId: string): Promise<DisconnectResult> {
    return disconnect(this.shared, tenant, connectionId);
  }

  setEnabled(tenant: Tenant, connectionId: string, enabled: boolean): Promise<ManagedConnection> {
    return setEnabled(this.shared, tenant, connectionId, enabled);
  }
}
