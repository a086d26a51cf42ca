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

/** Whether a URL's host is this machine (an emulator in tests and the demo). */
export function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * The API base URL a token response names (Salesforce `instance_url`), checked against the
 * connector's host pattern; null when it names none. The URL receives the token, so it must be
 * https on a provider host. Outside production (`loopbackAllowed`) a loopback URL is accepted too,
 * over http or https: the emulators in tests and the demo answer there.
 */
export function baseUrlFromGrant(app: ResolvedOAuthApp, tokens: client.TokenEndpointResponse, loopbackAllowed: boolean): string | null {
  const fromToken = app.mode.baseUrlFromTokenResponse;
  const instance = fromToken ? (tokens as Record<string, unknown>)[fromToken.field] : undefined;
  if (!fromToken || typeof instance !== 'string') return null;
  let parsed: URL | null = null;
  try {
    parsed = new URL(instance);
  } catch {
    parsed = null;
  }
  const provider = parsed?.protocol === 'https:' && matchesPattern(fromToken.hostPattern, parsed.hostname);
  const loopback = loopbackAllowed && (parsed?.protocol === 'http:' || parsed?.protocol === 'https:') && isLoopbackHost(parsed.hostname);
  if (!parsed || parsed.username || parsed.password || !(provider || loopback)) {
    throw new ConnectorError('UPSTREAM_BAD_RESPONSE', `the token response named an API host that is not one of the provider's (${fromToken.field})`, {
      retryable: false,
    });
  }
  return parsed.origin;
}
