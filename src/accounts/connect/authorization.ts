// The first half of the authorization-code flow (see flow.ts for the whole): the connect session a
// tenant creates, the confirmation page its link opens, and the POST from that page that sends the
// browser to the provider's consent page with state and, where the connector asks for it, PKCE.
import * as client from 'openid-client';
import type { Connector } from '../../../connectors/sdk/types.ts';
import type { Tenant } from '../../callers/tenants.ts';
import { badUserInput } from '../../errors.ts';
import { matchesPattern } from '../provider-apps.ts';
import {
  bindingCookieName,
  confirmCookieName,
  confirmationPage,
  newToken,
  readCookie,
  refuse,
  returnUrlAllowed,
  setCookie,
  type CookieSigner,
  type HttpAnswer,
} from './browser.ts';
import type { ConnectShared, Requester } from './shared.ts';

export interface ConnectSession {
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

export interface PendingAuthorization extends ConnectSession {
  /** PKCE verifier; null when the connector declares no PKCE. */
  verifier: string | null;
  redirectUri: string;
}

export const sessionKey = (token: string) => `session:${token}`;
export const stateKey = (state: string) => `state:${state}`;

/** The tenant's connect parameters, each declared by the connector and matching its pattern. */
function checkParams(connector: Connector, given: Record<string, unknown>): Record<string, string> {
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

export class AuthorizationStart {
  constructor(
    private readonly shared: ConnectShared,
    private readonly cookies: CookieSigner,
  ) {}

  /** Whether the connect pages are served over https (their cookies then carry the `__Host-` prefix). */
  private get pagesHttps(): boolean {
    return this.shared.deps.config.publicUrl?.startsWith('https:') === true;
  }

  async createSession(
    tenant: Tenant,
    input: { connector: string; returnUrl?: string | null; params?: Record<string, unknown> | null; reconnect?: string | null },
    publicBase: string,
    who?: Requester,
  ): Promise<{ url: string; expiresAt: string }> {
    const { deps } = this.shared;
    const connector = this.shared.connector(input.connector);
    const mode = connector.manifest.auth.oauth2;
    if (!mode || !mode.grants.includes('authorization_code'))
      throw badUserInput(`${connector.manifest.displayName} has no OAuth authorization-code flow; use connectWithApiKey`, 'connector');
    const params = checkParams(connector, input.params ?? {});
    const app = deps.apps.oauthApp(connector.manifest.id, params);
    if (!app) {
      throw badUserInput(
        `no OAuth app is registered for ${connector.manifest.displayName} on this gateway (providers.${connector.manifest.id}.oauth in the tenants file)`,
        'connector',
      );
    }
    const returnUrl = input.returnUrl ?? null;
    if (returnUrl !== null && !returnUrlAllowed(returnUrl, tenant.connectReturnUrls))
      throw badUserInput("returnUrl is not on this tenant's list of allowed return URLs (connectReturnUrls)", 'returnUrl');
    if (input.reconnect) await this.shared.ownManaged(tenant, input.reconnect, connector.manifest.id);
    const token = newToken();
    const session: ConnectSession = {
      tenantId: tenant.id,
      connector: connector.manifest.id,
      returnUrl,
      params,
      reconnect: input.reconnect ?? null,
      ...(who ? { actor: who.actor, requestId: who.requestId } : {}),
    };
    const ttl = deps.config.connectSessionTtlSeconds;
    await deps.connections.putSession(sessionKey(token), session, ttl);
    // The link lives on the callback's origin: the cookies set along the way must come back with it.
    const base = app.redirectUri ? new URL(app.redirectUri).origin : publicBase;
    return { url: `${base}/connect/${connector.manifest.id}?session=${token}`, expiresAt: new Date(Date.now() + ttl * 1000).toISOString() };
  }

  /** GET: the confirmation page. Reads the session without using it up. */
  async confirmPage(connectorId: string, requestUrl: URL): Promise<HttpAnswer> {
    const { deps } = this.shared;
    const token = requestUrl.searchParams.get('session');
    if (!token) return refuse('missing session parameter: open the URL createConnectSession returned');
    const session = await deps.connections.peekSession<ConnectSession>(sessionKey(token));
    if (!session) return refuse('this connect link is unknown, already used or expired: create a new connect session');
    if (session.connector !== connectorId) return refuse('this connect link belongs to another connector');
    const connector = this.shared.connector(connectorId);
    const tenant = deps.directory.byId(session.tenantId);
    // The form carries a nonce; the cookie its MAC under the gateway's key, bound to this link.
    const confirm = newToken();
    const action = `/connect/${encodeURIComponent(connectorId)}${requestUrl.search}`;
    const html = confirmationPage(connector.manifest.displayName, tenant?.name ?? session.tenantId, action, confirm);
    const cookie = setCookie(confirmCookieName(token), this.cookies.sign('confirm', token, confirm), {
      https: this.pagesHttps,
      path: `/connect/${encodeURIComponent(connectorId)}`,
      maxAge: deps.config.connectSessionTtlSeconds,
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
    return this.start(connectorId, token, requestUrl, publicBase);
  }

  /** Takes the session, stores the pending authorization under a fresh state and redirects to the provider. */
  private async start(connectorId: string, token: string, requestUrl: URL, publicBase: string): Promise<HttpAnswer> {
    const { deps } = this.shared;
    const session = await deps.connections.takeSession<ConnectSession>(sessionKey(token));
    if (!session) return refuse('this connect link is unknown, already used or expired: create a new connect session');
    if (session.connector !== connectorId) return refuse('this connect link belongs to another connector');
    const returnTo = requestUrl.searchParams.get('return_to');
    let returnUrl = session.returnUrl;
    if (returnTo !== null) {
      const tenant = deps.directory.byId(session.tenantId);
      if (!tenant || !returnUrlAllowed(returnTo, tenant.connectReturnUrls)) return refuse("return_to is not on the tenant's list of allowed return URLs");
      returnUrl = returnTo;
    }
    const app = deps.apps.oauthApp(connectorId, session.params);
    if (!app) return refuse('the OAuth app for this connector is no longer registered');
    const state = newToken();
    const verifier = app.mode.pkce ? client.randomPKCECodeVerifier() : null;
    const redirectUri = app.redirectUri ?? `${publicBase}/connect/${connectorId}/callback`;
    const pending: PendingAuthorization = { ...session, returnUrl, verifier, redirectUri };
    await deps.connections.putSession(stateKey(state), pending, deps.config.connectSessionTtlSeconds);
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
    const location = client.buildAuthorizationUrl(this.shared.oauthConfig(app), params).href;
    // The browser that starts the flow must be the one that finishes it: a cookie only this
    // browser holds, scoped to the callback path. Without it, an attacker could send a victim the
    // provider's consent page of the attacker's own flow and attach the victim's account to the
    // attacker's tenant.
    const cookie = setCookie(bindingCookieName(state), this.cookies.sign('bind', state), {
      https: redirectUri.startsWith('https:'),
      path: new URL(redirectUri).pathname,
      maxAge: deps.config.connectSessionTtlSeconds,
      sameSite: 'Lax',
    });
    // Answering a POST: 303 makes the browser GET the provider's page.
    return { status: 303, headers: { location, 'cache-control': 'no-store', 'set-cookie': cookie } };
  }
}
