// What one OAuth grant yields before anything is stored: the connection settings the connector
// keeps from the token response, and the API base URL when the token response names it.
import type * as client from 'openid-client';
import { ConnectorError } from '../../../connectors/sdk/errors.ts';
import { matchesPattern, type ResolvedOAuthApp } from '../provider-apps.ts';

export /** The tenant's connect parameters plus the token-response fields the connector keeps as settings. */
function settingsFromGrant(app: ResolvedOAuthApp, tokens: client.TokenEndpointResponse, params: Record<string, string>): Record<string, string> {
  const raw = tokens as Record<string, unknown>;
  const settings: Record<string, string> = { ...params };
  for (const [name, field] of Object.entries(app.mode.settingsFromTokenResponse ?? {})) {
    const v = raw[field];
    if (typeof v === 'string' || typeof v === 'number') settings[name] = String(v);
  }
  return settings;
}

/** The API base URL a token response names (Salesforce `instance_url`), checked against the connector's host pattern; null when it names none. */
export function baseUrlFromGrant(app: ResolvedOAuthApp, tokens: client.TokenEndpointResponse): string | null {
  const fromToken = app.mode.baseUrlFromTokenResponse;
  const instance = fromToken ? (tokens as Record<string, unknown>)[fromToken.field] : undefined;
  if (!fromToken || typeof instance !== 'string') return null;
  let parsed: URL | null = null;
  try {
    parsed = new URL(instance);
  } catch {
    parsed = null;
  }
  if (!parsed || parsed.protocol !== 'https:' || !matchesPattern(fromToken.hostPattern, parsed.hostname)) {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `the token response named an API host that is not one of the provider's (${fromToken.field})`, {
      retryable: false,
    });
  }
  return parsed.origin;
}
