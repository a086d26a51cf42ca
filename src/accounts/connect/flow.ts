// Connecting a provider account, and letting go of it.
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
// carries can name another tenant.
//
// Also: the client-credentials grant (same openid-client configuration), API-key / basic
// credentials checked against the provider before they are stored, disconnect (revoke at the
// provider where it has a way, then delete), and enable/disable.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type { AuditInput, AuditLog } from '../../audit/log.ts';
import * as client from 'openid-client';
import { ConnectorError } from '../../../connectors/sdk/errors.ts';
import type { Connector, EntityLoader } from '../../../connectors/sdk/types.ts';
import type { GatewayConfig } from '../../config.ts';
import { badUserInput } from '../../errors.ts';
import type { ConnectorContexts } from '../../upstream/connector-context.ts';
import type { ConnectionAuth, ConnectionStore, ManagedConnection, StatusEvent } from '../connections.ts';
import type { StoredCredential } from '../credentials.ts';
import { grantedScopes, oauthConfiguration } from '../oauth-client.ts';
import { matchesPattern, stringSettings, type ProviderApps, type ResolvedOAuthApp } from '../provider-apps.ts';
import type { Tenant, TenantDirectory } from '../../callers/tenants.ts';
import { forbidden } from '../../callers/scopes.ts';
import type { TokenManager, TokenRecord } from '../token-manager.ts';
import { VaultDecryptError, type CredentialVault } from '../vault.ts';
import {
  bindingCookieName,
  confirmCookieName,
  confirmationPage,
  CookieSigner,
  newToken,
  readCookie,
  refuse,
  returnUrlAllowed,
  setCookie,
  type HttpAnswer,
} from './browser.ts';
import { baseUrlFromGrant, settingsFromGrant } from './grants.ts';
import { revokeAtProvider, type RevocationOutcome } from './revocation.ts';
import { leaveSharedCredential, newSharedCredentialId, resolveCredential } from '../shared-credentials.ts';

export type { HttpAnswer } from './browser.ts';

interface ConnectSession {
  tenantId: string;
  /** Who created the connect link, for the audit entry of its outcome (absent in sessions of older versions). */
  actor?: string;
  requestId?: string | null;
  connector: string;
  returnUrl: string | null;
  params: Record<string, string>;
  /** Re-authorize this existing connection instead of creating one. */
  reconnect: string | null;
}

interface PendingAuthorization extends ConnectSession {
  /** PKCE verifier; null when the provider takes no PKCE (Stripe). */
  verifier: string | null;
  redirectUri: string;
}

export interface ConnectFlowDeps {
  config: Pick<GatewayConfig, 'connectSessionTtlSeconds' | 'allowInsecureOAuth' | 'publicUrl' | 'providers' | 'limits' | 'mode'>;
  connectors: ReadonlyMap<string, Connector>;
  apps: ProviderApps;
  connections: ConnectionStore;
  vault: CredentialVault;
  tokens: TokenManager;
  directory: TenantDirectory;
  contexts: ConnectorContexts;
  audit: AuditLog;
  log: Pick<Logger, 'warn'>;
}

/** Who asks, for the audit log. */
export interface Requester {
  actor: string;
  requestId: string | null;
}

export interface DisconnectResult {
  connectionId: string;
  revokedAtProvider: boolean;
  message: string;
}

/**
 * A provider's OAuth `error` as we repeat it: a plain RFC 6749 code (lower-case letters and "_",
 * at most 64), else `fallback`. The value comes from a redirect or a response body anyone can
 * shape, and goes into pages, redirects and GraphQL messages.
 */
export function oauthErrorCode(value: string | null | undefined, fallback: string): string {
  return typeof value === 'string' && /^[a-z_]{1,64}$/.test(value) ? value : fallback;
}

export class ConnectFlow {
  private readonly cookies: CookieSigner;

  constructor(private readonly deps: ConnectFlowDeps) {
    this.cookies = new CookieSigner(deps.vault.derivedKeys('connect-cookie/v1'));
  }

  /** Whether the connect pages are served over https (their cookies then carry the `__Host-` prefix). */
  private get pagesHttps(): boolean {
    return this.deps.config.publicUrl?.startsWith('https:') === true;
  }

  // ─── 1. session ─────────────────────────────────────────────────────────────────────────────

  async createSession(
    tenant: Tenant,
    input: { connector: string; returnUrl?: string | null; params?: Record<string, unknown> | null; reconnect?: string | null },
    publicBase: string,
    who?: Requester,
  ): Promise<{ url: string; expiresAt: string }> {
    const connector = this.connector(input.connector);
    const mode = connector.manifest.auth.oauth2;
    if (!mode || !mode.grants.includes('authorization_code'))
      throw badUserInput(`${connector.manifest.displayName} has no OAuth authorization-code flow; use connectWithApiKey`, 'connector');
    const params = this.checkParams(connector, input.params ?? {});
    const app = this.deps.apps.oauthApp(connector.manifest.id, params);
    if (!app) {
      throw badUserInput(
        `no OAuth app is registered for ${connector.manifest.displayName} on this gateway (providers.${connector.manifest.id}.oauth in the tenants file)`,
        'connector',
      );
    }
    const returnUrl = input.returnUrl ?? null;
    if (returnUrl !== null && !returnUrlAllowed(returnUrl, tenant.connectReturnUrls))
      throw badUserInput("returnUrl is not on this tenant's list of allowed return URLs (connectReturnUrls)", 'returnUrl');
    if (input.reconnect) await this.ownManaged(tenant, input.reconnect, connector.manifest.id);
    const token = newToken();
    const session: ConnectSession = {
      tenantId: tenant.id,
      connector: connector.manifest.id,
      returnUrl,
      params,
      reconnect: input.reconnect ?? null,
      ...(who ? { actor: who.actor, requestId: who.requestId } : {}),
    };
    const ttl = this.deps.config.connectSessionTtlSeconds;
    await this.deps.connections.putSession(`session:${token}`, session, ttl);
    // The link lives on the callback's origin: the cookies set along the way must come back with it.
    const base = app.redirectUri ? new URL(app.redirectUri).origin : publicBase;
    return { url: `${base}/connect/${connector.manifest.id}?session=${token}`, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
  }

  // ─── 2. confirm, then start ─────────────────────────────────────────────────────────────────

  /** GET: the confirmation page. Reads the session without using it up. */
  async confirmPage(connectorId: string, requestUrl: URL): Promise<HttpAnswer> {
    const token = requestUrl.searchParams.get('session');
    if (!token) return refuse('missing session parameter: open the URL createConnectSession returned');
    const session = await this.deps.connections.peekSession<ConnectSession>(`session:${token}`);
    if (!session) return refuse('this connect link is unknown, already used or expired: create a new connect session');
    if (session.connector !== connectorId) return refuse('this connect link belongs to another connector');
    const connector = this.connector(connectorId);
    const tenant = this.deps.directory.byId(session.tenantId);
    // The form carries a nonce; the cookie its MAC under the gateway's key, bound to this link.
    const confirm = newToken();
    const action = `/connect/${encodeURIComponent(connectorId)}${requestUrl.search}`;
    const html = confirmationPage(connector.manifest.displayName, tenant?.name ?? session.tenantId, action, confirm);
    const cookie = setCookie(confirmCookieName(token), this.cookies.sign('confirm', token, confirm), {
      https: this.pagesHttps,
      path: `/connect/${encodeURIComponent(connectorId)}`,
      maxAge: this.deps.config.connectSessionTtlSeconds,
      sameSite: 'Strict',
    });
    return {
      status: 200,
      headers: {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'x-frame-options': 'DENY',
        'content-security-policy': "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        'set-cookie': cookie,
      },
      body: html,
    };
  }

  /** POST from the confirmation page: checks its token against the page's cookie, then starts. */
  async confirmAndStart(
    connectorId: string,
    requestUrl: URL,
    form: URLSearchParams,
    cookieHeader: string | null | undefined,
    publicBase: string,
  ): Promise<HttpAnswer> {
    const token = requestUrl.searchParams.get('session');
    if (!token) return refuse('missing session parameter: open the URL createConnectSession returned');
    const confirm = form.get('confirm');
    if (!confirm || !this.cookies.verify(readCookie(cookieHeader, confirmCookieName(token), this.pagesHttps), 'confirm', token, confirm)) {
      return refuse('open the connect link and press Continue on its page to connect');
    }
    return this.start(connectorId, requestUrl, publicBase);
  }

  private async start(connectorId: string, requestUrl: URL, publicBase: string): Promise<HttpAnswer> {
    const token = requestUrl.searchParams.get('session');
    if (!token) return refuse('missing session parameter: open the URL createConnectSession returned');
    const session = await this.deps.connections.takeSession<ConnectSession>(`session:${token}`);
    if (!session) return refuse('this connect link is unknown, already used or expired: create a new connect session');
    if (session.connector !== connectorId) return refuse('this connect link belongs to another connector');
    const returnTo = requestUrl.searchParams.get('return_to');
    let returnUrl = session.returnUrl;
    if (returnTo !== null) {
      const tenant = this.deps.directory.byId(session.tenantId);
      if (!tenant || !returnUrlAllowed(returnTo, tenant.connectReturnUrls)) return refuse("return_to is not on the tenant's list of allowed return URLs");
      returnUrl = returnTo;
    }
    const app = this.deps.apps.oauthApp(connectorId, session.params);
    if (!app) return refuse('the OAuth app for this connector is no longer registered');
    const state = newToken();
    const verifier = app.mode.pkce ? client.randomPKCECodeVerifier() : null;
    const redirectUri = app.redirectUri ?? `${publicBase}/connect/${connectorId}/callback`;
    const pending: PendingAuthorization = { ...session, returnUrl, verifier, redirectUri };
    await this.deps.connections.putSession(`state:${state}`, pending, this.deps.config.connectSessionTtlSeconds);
    const params: Record<string, string> = {
      redirect_uri: redirectUri,
      scope: app.scopes.join(app.mode.scopeSeparator),
      state,
      ...(app.mode.authorizeParams ?? {}),
    };
    if (verifier) {
      params.code_challenge = await client.calculatePKCECodeChallenge(verifier);
      params.code_challenge_method = 'S256';
    }
    const location = client.buildAuthorizationUrl(this.oauthConfig(app), params).href;
    // The browser that starts the flow must be the one that finishes it: a cookie only this
    // browser holds, scoped to the callback path. Without it, an attacker could send a victim the
    // provider's consent page of the attacker's own flow and attach the victim's account to the
    // attacker's tenant.
    const cookie = setCookie(bindingCookieName(state), this.cookies.sign('bind', state), {
      https: redirectUri.startsWith('https:'),
      path: new URL(redirectUri).pathname,
      maxAge: this.deps.config.connectSessionTtlSeconds,
      sameSite: 'Lax',
    });
    // Answering a POST: 303 makes the browser GET the provider's page.
    return { status: 303, headers: { location, 'cache-control': 'no-store', 'set-cookie': cookie } };
  }

  // ─── 3. callback ────────────────────────────────────────────────────────────────────────────

  async callback(connectorId: string, requestUrl: URL, cookieHeader?: string | null): Promise<HttpAnswer> {
    const state = requestUrl.searchParams.get('state');
    if (!state) return refuse('missing state parameter');
    // Checked before the state is taken, so a foreign browser cannot burn a genuine authorization.
    // The pending authorization says whether its cookie was set over https (`__Host-` name only).
    const peeked = await this.deps.connections.peekSession<PendingAuthorization>(`state:${state}`);
    if (!peeked) return refuse('unknown, already used or expired state: start the connection again');
    const binding = readCookie(cookieHeader, bindingCookieName(state), peeked.redirectUri.startsWith('https:'));
    if (!this.cookies.verify(binding, 'bind', state)) {
      return refuse('this browser did not start this authorization: open the connect link and finish in the same browser');
    }
    const pending = await this.deps.connections.takeSession<PendingAuthorization>(`state:${state}`);
    if (!pending) return refuse('unknown, already used or expired state: start the connection again');
    if (pending.connector !== connectorId) return refuse('this authorization belongs to another connector');
    const expected = new URL(pending.redirectUri);
    if (requestUrl.pathname !== expected.pathname) return refuse('the callback URL is not the redirect URI this authorization was started with');
    const app = this.deps.apps.oauthApp(connectorId, pending.params);
    if (!app) return refuse('the OAuth app for this connector is no longer registered');
    if (app.mode.pkce && !pending.verifier) return refuse('the PKCE verifier of this authorization is missing');
    const signed = this.connector(connectorId).auth?.verifyCallback?.({
      query: requestUrl.searchParams,
      clientSecret: app.clientSecret,
      params: pending.params,
      now: Date.now(),
    });
    if (signed && !signed.ok) return refuse(signed.error.message);
    const providerError = requestUrl.searchParams.get('error');
    const code = oauthErrorCode(providerError, 'access_denied');
    if (providerError) return this.finish(pending, state, null, `the provider refused the authorization (${code})`, code);

    // The redirect URI as registered, with the query the provider sent back: openid-client checks
    // state and sends redirect_uri + code_verifier to the token endpoint.
    const currentUrl = new URL(expected.href);
    currentUrl.search = requestUrl.search;
    let tokens: client.TokenEndpointResponse;
    try {
      tokens = await client.authorizationCodeGrant(this.oauthConfig(app), currentUrl, {
        expectedState: state,
        ...(pending.verifier ? { pkceCodeVerifier: pending.verifier } : {}),
      });
    } catch (err) {
      const code = err instanceof client.ResponseBodyError ? oauthErrorCode(err.error, 'invalid_response') : null;
      return refuse(code ? `the provider rejected the authorization code (${code})` : 'the authorization code could not be exchanged with the provider');
    }
    let connections: ManagedConnection[];
    try {
      const callbackParams = Object.fromEntries(requestUrl.searchParams);
      connections = await this.storeGrant(pending.tenantId, connectorId, app, tokens, pending.params, callbackParams, pending.reconnect, 'OAUTH2');
    } catch (err) {
      if (err instanceof ConnectorError) return refuse(err.message);
      throw err;
    }
    return this.finish(pending, state, connections, null);
  }

  private async finish(
    pending: PendingAuthorization,
    state: string,
    connections: ManagedConnection[] | null,
    error: string | null,
    errorCode = 'access_denied',
  ): Promise<HttpAnswer> {
    await this.audited({
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
    const answer = this.finishAnswer(pending, connections, error, errorCode);
    const clear = setCookie(bindingCookieName(state), '', {
      https: pending.redirectUri.startsWith('https:'),
      path: new URL(pending.redirectUri).pathname,
      maxAge: 0,
      sameSite: 'Lax',
    });
    return { ...answer, headers: { ...answer.headers, 'set-cookie': clear } };
  }

  private finishAnswer(pending: PendingAuthorization, connections: ManagedConnection[] | null, error: string | null, errorCode: string): HttpAnswer {
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

  // ─── other ways to connect ──────────────────────────────────────────────────────────────────

  async connectClientCredentials(tenant: Tenant, connectorId: string, scopes: string[] | null): Promise<ManagedConnection> {
    const connector = this.connector(connectorId);
    const mode = connector.manifest.auth.oauth2;
    if (!mode?.grants.includes('client_credentials')) throw badUserInput(`${connector.manifest.displayName} offers no client-credentials grant`, 'connector');
    const app = this.deps.apps.oauthApp(connectorId);
    if (!app) throw badUserInput(`no OAuth app is registered for ${connector.manifest.displayName} on this gateway`, 'connector');
    // The grant acts as the operator's own app, with no account owner consenting: only tenants the
    // operator allows, and only the scopes it allows them (tenants file: clientCredentials).
    const allowed = tenant.clientCredentials?.[connectorId];
    if (!allowed)
      throw forbidden(
        `this tenant may not connect ${connector.manifest.displayName} with the gateway's client-credentials app (the operator allows it per tenant: clientCredentials.${connectorId} in the tenants file)`,
      );
    const requested = scopes ?? allowed.scopes;
    const extra = requested.filter((s) => !allowed.scopes.includes(s));
    if (extra.length)
      throw forbidden(`scopes not allowed for this tenant's client-credentials connections: ${extra.join(', ')} (allowed: ${allowed.scopes.join(', ')})`);
    let tokens: client.TokenEndpointResponse;
    try {
      tokens = await client.clientCredentialsGrant(this.oauthConfig(app), requested.length ? { scope: requested.join(app.mode.scopeSeparator) } : {});
    } catch (err) {
      const code = err instanceof client.ResponseBodyError ? oauthErrorCode(err.error, 'invalid_response') : null;
      if (code) throw badUserInput(`the provider refused the client-credentials grant (${code})`, 'scopes');
      throw new ConnectorError('UPSTREAM_UNAVAILABLE', `${connector.manifest.displayName}'s token endpoint could not be reached`);
    }
    const [first] = await this.storeGrant(tenant.id, connectorId, app, tokens, {}, {}, null, 'CLIENT_CREDENTIALS', requested);
    return first as ManagedConnection;
  }

  async connectWithSecret(
    tenant: Tenant,
    connectorId: string,
    secret: { kind: 'api_key'; apiKey: string } | { kind: 'basic'; username: string; password: string },
    settings: Record<string, unknown>,
  ): Promise<ManagedConnection> {
    const connector = this.connector(connectorId);
    const { apiKey, basic } = connector.manifest.auth;
    if (secret.kind === 'api_key') {
      if (!apiKey) throw badUserInput(`${connector.manifest.displayName} takes no API key`, 'connector');
      if (apiKey.pattern && !new RegExp(apiKey.pattern).test(secret.apiKey))
        throw badUserInput(`that does not look like a ${connector.manifest.displayName} ${apiKey.label}`, 'apiKey');
    } else if (!basic) throw badUserInput(`${connector.manifest.displayName} takes no user name and password`, 'connector');
    // Settings that name the provider account are learnt from the provider (token response), never
    // taken from the tenant: webhooks are routed by them.
    const reserved = new Set(
      [connector.webhooks?.accountSetting, ...Object.keys(connector.manifest.auth.oauth2?.settingsFromTokenResponse ?? {})].filter(Boolean),
    );
    for (const [k, v] of Object.entries(settings)) {
      if (!/^[a-zA-Z][a-zA-Z0-9_]{0,31}$/.test(k) || !['string', 'number', 'boolean'].includes(typeof v))
        throw badUserInput(`settings.${k}: settings are short names with string, number or boolean values`, 'settings');
      if (reserved.has(k)) throw badUserInput(`settings.${k} is learnt from the provider and cannot be set`, 'settings');
    }
    const id = this.newConnectionId(connectorId);
    const target = await connector.auth?.connectionTarget?.({ settings, production: this.deps.config.mode === 'production' });
    if (target && !target.ok) throw badUserInput(target.error.message, 'settings');
    const baseUrl = target?.value.baseUrl ?? this.deps.config.providers[connectorId]?.baseUrl ?? null;
    const token = secret.kind === 'api_key' ? secret.apiKey : Buffer.from(`${secret.username}:${secret.password}`).toString('base64');
    await this.probe(tenant.id, connector, { id, baseUrl: baseUrl ?? connector.manifest.defaultBaseUrl, settings }, token);
    const now = new Date().toISOString();
    const connection: ManagedConnection = {
      id,
      tenantId: tenant.id,
      provider: connectorId,
      auth: secret.kind === 'api_key' ? 'API_KEY' : 'BASIC',
      status: 'ACTIVE',
      scopes: [],
      baseUrl,
      settings,
      createdAt: now,
      lastRefreshedAt: null,
      lastError: null,
    };
    await this.deps.vault.put(tenant.id, id, secret satisfies StoredCredential);
    await this.deps.connections.put(connection);
    await this.announce(connection, 'ACTIVE', 'connected with a stored credential');
    return connection;
  }

  // ─── disconnect, enable/disable ─────────────────────────────────────────────────────────────

  async disconnect(tenant: Tenant, connectionId: string): Promise<DisconnectResult> {
    const connection = await this.ownManaged(tenant, connectionId);
    // Holding the refresh lock: no refresh can store new tokens after these are revoked and deleted.
    const result = await this.deps.tokens.exclusive(tenant.id, connectionId, async () => {
      let revoked = false;
      let message = 'credentials deleted';
      try {
        let stored: StoredCredential | null = null;
        let sharedWithOthers: string | undefined;
        try {
          stored = await this.deps.vault.get<StoredCredential>(tenant.id, connectionId);
          if (stored?.kind === 'shared') {
            // The grant's tokens stay for the other connections; revoked with the last one.
            const left = await leaveSharedCredential(this.deps.vault, this.deps.tokens, tenant.id, stored.credentialId, connectionId);
            if (!left.last) sharedWithOthers = stored.credentialId;
            stored = left.stored;
          }
        } catch (err) {
          if (!(err instanceof VaultDecryptError)) throw err;
          // Without the tokens nothing can be revoked: the grant stays live at the provider.
          this.deps.log.warn({ tenantId: tenant.id, connectionId, provider: connection.provider }, 'disconnect: credentials undecryptable, grant not revoked');
          message =
            "the stored credentials could not be decrypted, so access was NOT revoked at the provider: revoke the app in the provider's settings; the connection was deleted";
        }
        if (stored?.kind === 'oauth2') {
          const outcome = await this.revoke(connection, stored, sharedWithOthers);
          revoked = outcome === 'revoked';
          message =
            outcome === 'revoked'
              ? 'access revoked at the provider and credentials deleted'
              : outcome === 'shared'
                ? 'other connections of this tenant use this provider account, so access was not revoked there; credentials deleted'
                : 'the provider offers no revocation here; credentials deleted';
        }
      } catch {
        message = "the provider did not confirm the revocation; credentials deleted anyway (revoke the app in the provider's settings to be sure)";
      }
      await this.deps.vault.delete(tenant.id, connectionId);
      await this.deps.connections.delete(tenant.id, connectionId);
      return { connectionId, revokedAtProvider: revoked, message };
    });
    await this.deps.connections.publish({
      tenantId: tenant.id,
      connectionId,
      provider: connection.provider,
      status: 'DELETED',
      reason: result.message,
      at: new Date().toISOString(),
    });
    return result;
  }

  async setEnabled(tenant: Tenant, connectionId: string, enabled: boolean): Promise<ManagedConnection> {
    const current = await this.ownManaged(tenant, connectionId);
    if (enabled && current.status !== 'DISABLED') return current;
    // Enabling restores what the credential says: NEEDS_REAUTH stays until the tenant reconnects.
    let status: ManagedConnection['status'] = 'DISABLED';
    let lastError: string | null = 'disabled by the tenant';
    if (enabled) {
      // A record that does not decrypt stays NEEDS_REAUTH; one that cannot be read right now (the
      // store is down) is not proof of anything: first use will tell.
      let broken: string | null = null;
      try {
        const { stored } = await resolveCredential<StoredCredential>(this.deps.vault, tenant.id, connectionId);
        if (stored?.kind === 'oauth2' && stored.status === 'NEEDS_REAUTH') broken = stored.lastError ?? 'the provider refused the refresh token';
      } catch (err) {
        if (err instanceof VaultDecryptError) broken = 'the stored credentials could not be decrypted';
        else throw err;
      }
      status = broken ? 'NEEDS_REAUTH' : 'ACTIVE';
      lastError = broken;
    }
    const updated = await this.deps.connections.update(connectionId, { status, lastError });
    if (!updated) throw badUserInput(`no connection "${connectionId}"`, 'connectionId');
    await this.announce(updated, status, lastError ?? 'enabled by the tenant');
    return updated;
  }

  // ─── internals ──────────────────────────────────────────────────────────────────────────────

  private connector(id: string): Connector {
    const connector = this.deps.connectors.get(id);
    if (!connector) throw badUserInput(`unknown connector "${id}" (known: ${[...this.deps.connectors.keys()].join(', ')})`, 'connector');
    return connector;
  }

  private checkParams(connector: Connector, given: Record<string, unknown>): Record<string, string> {
    const declared = connector.manifest.auth.oauth2?.connectParams ?? [];
    const out: Record<string, string> = {};
    for (const key of Object.keys(given)) {
      if (!declared.some((d) => d.name === key)) throw badUserInput(`${connector.manifest.displayName} takes no connect parameter "${key}"`, 'params');
    }
    for (const d of declared) {
      const v = given[d.name];
      if (typeof v !== 'string' || !matchesPattern(d.pattern, v)) throw badUserInput(`params.${d.name}: ${d.description}`, 'params');
      out[d.name] = v;
    }
    return out;
  }

  private async ownManaged(tenant: Tenant, connectionId: string, provider?: string): Promise<ManagedConnection> {
    if (this.deps.directory.isFileConnection(connectionId) && tenant.connections.some((c) => c.id === connectionId)) {
      throw badUserInput(`connection "${connectionId}" is defined in the tenants file; change it there`, 'connectionId');
    }
    const c = await this.deps.connections.get(connectionId);
    // Another tenant's connection answers exactly like a missing one.
    if (!c || c.tenantId !== tenant.id) throw badUserInput(`no connection "${connectionId}"`, 'connectionId');
    if (provider && c.provider !== provider) throw badUserInput(`connection "${connectionId}" is a ${c.provider} connection`, 'reconnect');
    return c;
  }

  private newConnectionId(connectorId: string): string {
    return `${connectorId}-${randomBytes(6).toString('hex')}`;
  }

  private oauthConfig(app: ResolvedOAuthApp): client.Configuration {
    return oauthConfiguration({
      authorizationEndpoint: app.authorizationUrl,
      tokenEndpoint: app.tokenUrl,
      ...((app.mode.revocation.type === 'rfc7009' || app.mode.revocation.type === 'remove-connection') && app.revocationUrl
        ? { revocationEndpoint: app.revocationUrl }
        : {}),
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      clientAuth: app.mode.clientAuth,
      allowInsecureRequests: app.allowInsecureRequests,
      timeoutSeconds: Math.max(1, Math.floor(this.deps.config.limits.upstreamAttemptTimeoutMs / 1000)),
    });
  }

  /**
   * Stores the connections one grant makes: one, or what the connector's afterConnect hook answers
   * (several provider accounts, values the token response lacks). A reconnect replaces its
   * connection with the first.
   */
  private async storeGrant(
    tenantId: string,
    connectorId: string,
    app: ResolvedOAuthApp,
    tokens: client.TokenEndpointResponse,
    params: Record<string, string>,
    callbackParams: Record<string, string>,
    reconnect: string | null,
    auth: ConnectionAuth,
    requestedScopes?: string[],
  ): Promise<ManagedConnection[]> {
    const connector = this.connector(connectorId);
    const afterConnect = connector.auth?.afterConnect;
    if (!afterConnect) return [await this.storeOAuth(tenantId, connectorId, app, tokens, params, reconnect, auth, requestedScopes)];
    const settings = settingsFromGrant(app, tokens, params);
    const info = {
      id: `${connectorId}-pending`,
      tenantId,
      provider: connectorId,
      baseUrl: this.grantBaseUrl(connectorId, app, tokens) ?? connector.manifest.defaultBaseUrl,
      settings,
    };
    const bounds = { signal: AbortSignal.timeout(this.deps.config.limits.requestDeadlineMs), deadline: Date.now() + this.deps.config.limits.requestDeadlineMs };
    const ctx = this.deps.contexts.forCredential(connector, info, tokens.access_token, bounds);
    const granted = await afterConnect({ tokenResponse: tokens as Record<string, unknown>, callbackParams, settings }, ctx);
    if (granted.length === 0)
      throw new ConnectorError('UPSTREAM_FORBIDDEN', `${connector.manifest.displayName} granted access to no account; nothing was stored`, {
        retryable: false,
      });
    // Several accounts, one grant: one credential in the vault for all (a refresh rotates it for all).
    const shared = granted.length > 1 ? newSharedCredentialId() : undefined;
    if (shared) await this.deps.vault.put(tenantId, shared, this.tokenRecord(tokens, auth, grantedScopes(tokens) ?? requestedScopes ?? app.scopes));
    const stored: ManagedConnection[] = [];
    for (const [i, g] of granted.entries()) {
      stored.push(
        await this.storeOAuth(tenantId, connectorId, app, tokens, { ...params, ...g.settings }, i === 0 ? reconnect : null, auth, requestedScopes, shared),
      );
    }
    if (shared) {
      const members = stored.map((c) => c.id);
      await this.deps.tokens.exclusive(tenantId, shared, async () => {
        const record = await this.deps.vault.get<StoredCredential>(tenantId, shared);
        if (record?.kind === 'oauth2') await this.deps.vault.put(tenantId, shared, { ...record, sharedBy: members });
      });
    }
    return stored;
  }

  /** This connection's API base URL: from the token response when the connector says so, else the registration's. */
  private grantBaseUrl(connectorId: string, app: ResolvedOAuthApp, tokens: client.TokenEndpointResponse): string | null {
    return baseUrlFromGrant(app, tokens) ?? this.deps.config.providers[connectorId]?.baseUrl ?? null;
  }

  private async storeOAuth(
    tenantId: string,
    connectorId: string,
    app: ResolvedOAuthApp,
    tokens: client.TokenEndpointResponse,
    params: Record<string, string>,
    reconnect: string | null,
    auth: ConnectionAuth,
    requestedScopes?: string[],
    sharedCredentialId?: string,
  ): Promise<ManagedConnection> {
    const settings: Record<string, unknown> = settingsFromGrant(app, tokens, params);
    const baseUrl = this.grantBaseUrl(connectorId, app, tokens);
    const now = Date.now();
    const scopes = grantedScopes(tokens) ?? requestedScopes ?? app.scopes;
    const record: StoredCredential = sharedCredentialId ? { kind: 'shared', credentialId: sharedCredentialId } : this.tokenRecord(tokens, auth, scopes, now);
    const build = (id: string, previous: ManagedConnection | null): ManagedConnection => ({
      id,
      tenantId,
      provider: connectorId,
      auth,
      status: 'ACTIVE',
      scopes,
      baseUrl,
      settings,
      createdAt: previous?.createdAt ?? new Date(now).toISOString(),
      lastRefreshedAt: new Date(now).toISOString(),
      lastError: null,
    });
    // Vault first: a connection is never listed without its credentials. Under the refresh lock, so
    // neither a refresh of the previous credential nor a disconnect can interleave with the write;
    // a reconnect whose connection was disconnected meanwhile becomes a new connection.
    const id = reconnect ?? this.newConnectionId(connectorId);
    let replaced: { connection: ManagedConnection; stored: TokenRecord } | null = null;
    const connection = await this.deps.tokens.exclusive(tenantId, id, async () => {
      const found = reconnect ? await this.deps.connections.get(reconnect) : null;
      // Ownership was checked when the session was made; ids never move between tenants, but a
      // reconnect only ever replaces a connection of the same tenant and provider.
      const previous = found && found.tenantId === tenantId && found.provider === connectorId ? found : null;
      if (reconnect && !previous) return null;
      let old = previous ? await this.deps.vault.get<StoredCredential>(tenantId, id).catch(() => null) : null;
      // It used a grant shared with other connections: it leaves it; the grant is revoked only with its last user.
      if (old?.kind === 'shared' && old.credentialId !== sharedCredentialId) {
        const left = await leaveSharedCredential(this.deps.vault, this.deps.tokens, tenantId, old.credentialId, id).catch(() => null);
        old = left?.last ? left.stored : null;
      }
      const fresh = record.kind === 'oauth2' ? record.refreshToken : null;
      if (previous && old?.kind === 'oauth2' && old.refreshToken && old.refreshToken !== fresh) replaced = { connection: previous, stored: old };
      const next = build(id, previous);
      await this.deps.vault.put(tenantId, id, record);
      await this.deps.connections.put(next);
      return next;
    });
    // A reconnect leaves the old grant's refresh token valid at the provider unless it is revoked.
    // Only token-level revocation: deauthorizing the account would cut off the grant just stored.
    const old = replaced as { connection: ManagedConnection; stored: TokenRecord } | null;
    if (old && (app.mode.revocation.type === 'rfc7009' || app.mode.revocation.type === 'token-in-path')) {
      await this.revoke(old.connection, { ...old.stored, accessToken: '' }).catch((err: unknown) =>
        this.deps.log.warn({ tenantId, connectionId: id, err: String(err) }, 'reconnect: the previous refresh token could not be revoked'),
      );
    }
    if (connection) {
      await this.announce(connection, 'ACTIVE', reconnect ? 'reconnected' : 'connected');
      return connection;
    }
    return this.storeOAuth(tenantId, connectorId, app, tokens, params, null, auth, requestedScopes, sharedCredentialId);
  }

  private tokenRecord(tokens: client.TokenEndpointResponse, auth: ConnectionAuth, scopes: string[], now = Date.now()): StoredCredential {
    return {
      kind: 'oauth2',
      accessToken: tokens.access_token,
      refreshToken: typeof tokens.refresh_token === 'string' ? tokens.refresh_token : '',
      expiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in * 1000 : null,
      scopes,
      status: 'ACTIVE',
      lastRefreshedAt: now,
      ...(auth === 'CLIENT_CREDENTIALS' ? { grant: 'client_credentials' as const } : {}),
    } satisfies TokenRecord & { kind: 'oauth2' };
  }

  /** Records an audit entry; the audit store failing must not undo what already happened. */
  private async audited(entry: AuditInput): Promise<void> {
    await this.deps.audit.record(entry).catch((err: unknown) => this.deps.log.warn({ err: String(err) }, 'audit log unavailable'));
  }

  private async announce(c: ManagedConnection, status: StatusEvent['status'], reason: string): Promise<void> {
    await this.deps.connections.publish({ tenantId: c.tenantId, connectionId: c.id, provider: c.provider, status, reason, at: new Date().toISOString() });
  }

  /** One cheap read with the new credential; a 401/403 means the provider refuses it. */
  private async probe(
    tenantId: string,
    connector: Connector,
    target: { id: string; baseUrl: string; settings: Record<string, unknown> },
    token: string,
  ): Promise<void> {
    const entity = connector.manifest.entities[0];
    const loader = entity ? (connector.loaders[entity] as EntityLoader<unknown> | undefined) : undefined;
    if (!loader) return;
    const signal = AbortSignal.timeout(this.deps.config.limits.requestDeadlineMs);
    const info = { id: target.id, tenantId, provider: connector.manifest.id, baseUrl: target.baseUrl, settings: target.settings };
    const ctx = this.deps.contexts.forCredential(connector, info, token, { signal, deadline: Date.now() + this.deps.config.limits.requestDeadlineMs });
    try {
      await loader.list({ first: 1, filter: {} }, ctx);
    } catch (err) {
      if (err instanceof ConnectorError && (err.code === 'UPSTREAM_UNAUTHORIZED' || err.code === 'UPSTREAM_FORBIDDEN')) {
        throw badUserInput(
          `${connector.manifest.displayName} refused this credential (${err.code === 'UPSTREAM_UNAUTHORIZED' ? 'not valid' : 'not allowed to read'}); nothing was stored`,
          'apiKey',
        );
      }
      throw err;
    }
  }

  private async revoke(connection: ManagedConnection, stored: TokenRecord, sharedCredentialId?: string): Promise<RevocationOutcome> {
    const app = this.deps.apps.oauthApp(connection.provider, stringSettings(connection.settings));
    if (!app || !app.revocationUrl) return 'unsupported';
    const tokenClient = sharedCredentialId
      ? this.deps.apps.tokenClient({ ...connection, credentials: { type: 'vault' }, baseUrl: connection.baseUrl ?? undefined })
      : null;
    const sharedGrant = sharedCredentialId
      ? {
          renewAccessToken: () =>
            tokenClient
              ? this.deps.tokens.forceRefresh(connection.tenantId, sharedCredentialId, tokenClient, stored.accessToken)
              : Promise.reject(new Error('no OAuth app registered to renew the shared token')),
        }
      : undefined;
    return revokeAtProvider({
      ...(sharedGrant ? { sharedGrant } : {}),
      app,
      revocationUrl: app.revocationUrl,
      connection,
      stored,
      connections: this.deps.connections,
      oauthConfig: () => this.oauthConfig(app),
      apiBaseUrl: connection.baseUrl ?? this.deps.config.providers[connection.provider]?.baseUrl ?? this.connector(connection.provider).manifest.defaultBaseUrl,
      signal: AbortSignal.timeout(this.deps.config.limits.upstreamAttemptTimeoutMs),
    });
  }
}
