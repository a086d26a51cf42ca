// One way to build openid-client's Configuration for a provider's OAuth 2.0 endpoints, shared by
// the connect flow (authorization code + PKCE, client credentials) and the token manager
// (refresh), so both authenticate to the token endpoint the same way.
import * as client from 'openid-client';

export interface OAuthEndpointConfig {
  /** Authorization server issuer; defaults to the token endpoint's origin (plain OAuth 2.0 providers have none). */
  issuer?: string;
  authorizationEndpoint?: string;
  tokenEndpoint: string;
  /** RFC 7009 revocation endpoint (used by disconnect). */
  revocationEndpoint?: string;
  clientId: string;
  clientSecret: string;
  /** How the client authenticates at the token endpoint. Default client_secret_post. */
  clientAuth?: 'client_secret_post' | 'client_secret_basic';
  /** Allow http:// endpoints (loopback emulators and test servers only). */
  allowInsecureRequests?: boolean;
  /** Whole seconds an HTTP call to the provider may take. */
  timeoutSeconds?: number;
  /** Token-response fields the provider leaves out, filled in before openid-client reads the answer (manifest `tokenResponseDefaults`). */
  tokenResponseDefaults?: Readonly<Record<string, string>>;
  fetch?: client.CustomFetch;
}

export function oauthConfiguration(c: OAuthEndpointConfig): client.Configuration {
  const metadata: client.ServerMetadata = {
    issuer: c.issuer ?? new URL(c.tokenEndpoint).origin,
    token_endpoint: c.tokenEndpoint,
    ...(c.authorizationEndpoint ? { authorization_endpoint: c.authorizationEndpoint } : {}),
    ...(c.revocationEndpoint ? { revocation_endpoint: c.revocationEndpoint } : {}),
  };
  const auth = c.clientAuth === 'client_secret_basic' ? client.ClientSecretBasic(c.clientSecret) : client.ClientSecretPost(c.clientSecret);
  const config = new client.Configuration(metadata, c.clientId, undefined, auth);
  if (c.timeoutSeconds) config.timeout = c.timeoutSeconds;
  if (c.allowInsecureRequests) client.allowInsecureRequests(config);
  const send: client.CustomFetch | undefined =
    c.tokenResponseDefaults && Object.keys(c.tokenResponseDefaults).length
      ? withTokenResponseDefaults(c.tokenEndpoint, c.tokenResponseDefaults, c.fetch ?? ((url, options) => fetch(url, options as RequestInit)))
      : c.fetch;
  if (send) config[client.customFetch] = send;
  return config;
}

/**
 * Wraps the HTTP call so that a successful JSON answer of the token endpoint gets the fields it
 * lacks. openid-client reads token responses strictly (no `token_type` → refused); a provider that
 * leaves a required field out declares its value in the manifest instead of the gateway naming it.
 */
export function withTokenResponseDefaults(tokenEndpoint: string, defaults: Readonly<Record<string, string>>, send: client.CustomFetch): client.CustomFetch {
  const endpoint = new URL(tokenEndpoint).href;
  return async (url, options) => {
    const res = await send(url, options);
    if (new URL(url).href !== endpoint || !res.ok || !/json/i.test(res.headers.get('content-type') ?? '')) return res;
    let body: unknown;
    try {
      body = await res.clone().json();
    } catch {
      return res; // not JSON after all: openid-client reports it
    }
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return res;
    const filled: Record<string, unknown> = { ...defaults, ...(body as Record<string, unknown>) };
    const headers = new Headers(res.headers);
    headers.delete('content-length');
    headers.delete('content-encoding');
    return new Response(JSON.stringify(filled), { status: res.status, statusText: res.statusText, headers });
  };
}

/** Scopes a token response granted: OAuth's space-separated `scope`, or HubSpot's `scopes` array. */
export function grantedScopes(response: client.TokenEndpointResponse): string[] | undefined {
  if (typeof response.scope === 'string' && response.scope !== '') return response.scope.split(/[\s,]+/).filter(Boolean);
  const list = (response as Record<string, unknown>).scopes;
  if (Array.isArray(list) && list.every((s) => typeof s === 'string')) return list as string[];
  return undefined;
}
