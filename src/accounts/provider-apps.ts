// The operator's app registrations, resolved against the connector manifests: for a provider, the
// OAuth endpoints to use (the manifest's, or the operator's overrides for a sandbox or emulator),
// the client id and secret, the scopes to request and the redirect URI. The connect flow, the
// token manager and disconnect all read them from here.
import type { Connector, OAuth2Mode } from '../../connectors/sdk/types.ts';
import type { ConnectionConfig, FileCredential, GatewayConfig, ProviderRegistration } from '../config.ts';
import type { OAuthClientConfig } from './token-manager.ts';

export interface ResolvedOAuthApp {
  provider: string;
  mode: OAuth2Mode;
  clientId: string;
  clientSecret: string;
  authorizationUrl: string;
  tokenUrl: string;
  revocationUrl: string | null;
  scopes: string[];
  /** Exact callback URL registered with the provider; null: derived from the public URL per request. */
  redirectUri: string | null;
  allowInsecureRequests: boolean;
}

/** Resolves a file credential (static value or environment variable); throws naming the variable. */
export function resolveFileCredential(what: string, c: FileCredential, env: NodeJS.ProcessEnv = process.env): string {
  if (c.type === 'static') return c.token;
  const value = env[c.variable];
  if (!value) throw new Error(`${what}: environment variable ${c.variable} is not set`);
  return value;
}

/** Whether a whole value matches a manifest pattern (connect parameters, instance hosts). */
export function matchesPattern(pattern: string, value: string): boolean {
  return new RegExp(`^(?:${pattern})$`).test(value);
}

/** A connection's string settings: the values its endpoint placeholders may be filled from. */
export function stringSettings(settings: Record<string, unknown>): Record<string, string> {
  return Object.fromEntries(Object.entries(settings).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** Fills `{param}` placeholders (Shopify's `{shop}`) from connect parameters; null when one is missing. */
export function fillTemplate(template: string, params: Record<string, string>): string | null {
  let missing = false;
  const out = template.replace(/\{([a-zA-Z][a-zA-Z0-9_]*)\}/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) missing = true;
    return v ?? '';
  });
  return missing ? null : out;
}

export class ProviderApps {
  constructor(
    private readonly config: Pick<GatewayConfig, 'providers' | 'allowInsecureOAuth'>,
    private readonly connectors: ReadonlyMap<string, Connector>,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  registration(provider: string): ProviderRegistration | null {
    return this.config.providers[provider] ?? null;
  }

  /** The provider's OAuth app, or null when the connector has no OAuth or no app is registered. */
  oauthApp(provider: string, params: Record<string, string> = {}): ResolvedOAuthApp | null {
    const mode = this.connectors.get(provider)?.manifest.auth.oauth2;
    const reg = this.config.providers[provider]?.oauth;
    if (!mode || !reg) return null;
    // Placeholder values end up in the host of URLs that receive the client secret: every declared
    // parameter must match its pattern here too, whatever path the value came by.
    for (const p of mode.connectParams ?? []) {
      const v = params[p.name];
      if (v !== undefined && !matchesPattern(p.pattern, v)) return null;
    }
    const authorizationUrl = fillTemplate(reg.authorizationUrl ?? mode.authorizationUrl, params);
    const tokenUrl = fillTemplate(reg.tokenUrl ?? mode.tokenUrl, params);
    if (!authorizationUrl || !tokenUrl) return null;
    const revocation = mode.revocation.type === 'none' ? null : fillTemplate(reg.revocationUrl ?? mode.revocation.url, params);
    return {
      provider,
      mode,
      clientId: reg.clientId,
      clientSecret: resolveFileCredential(`providers.${provider}.oauth.clientSecret`, reg.clientSecret, this.env),
      authorizationUrl,
      tokenUrl,
      revocationUrl: revocation,
      scopes: reg.scopes ?? mode.scopes,
      redirectUri: reg.redirectUri ?? null,
      allowInsecureRequests: this.config.allowInsecureOAuth,
    };
  }

  /** What the token manager needs to refresh tokens of a connection of this provider. */
  tokenClient(connection: ConnectionConfig): OAuthClientConfig | null {
    const params = stringSettings(connection.settings);
    const app = this.oauthApp(connection.provider, params);
    if (!app) return null;
    return {
      tokenEndpoint: app.tokenUrl,
      clientId: app.clientId,
      clientSecret: app.clientSecret,
      clientAuth: app.mode.clientAuth,
      scopeSeparator: app.mode.scopeSeparator,
      allowInsecureRequests: app.allowInsecureRequests,
      ...(app.mode.tokenResponseDefaults ? { tokenResponseDefaults: app.mode.tokenResponseDefaults } : {}),
    };
  }

  /** Problems with the registrations, for startup (unknown provider, provider without OAuth, unset env). */
  problems(): string[] {
    const out: string[] = [];
    for (const [provider, reg] of Object.entries(this.config.providers)) {
      const connector = this.connectors.get(provider);
      if (!connector) {
        out.push(`providers.${provider}: unknown provider (known: ${[...this.connectors.keys()].join(', ')})`);
        continue;
      }
      if (reg.oauth && !connector.manifest.auth.oauth2) out.push(`providers.${provider}.oauth: ${connector.manifest.displayName} has no OAuth flow`);
      for (const [what, c] of [
        ['oauth.clientSecret', reg.oauth?.clientSecret],
        ['webhookSecret', reg.webhookSecret],
      ] as const) {
        if (c?.type === 'env' && !this.env[c.variable]) out.push(`providers.${provider}.${what}: environment variable ${c.variable} is not set`);
      }
    }
    return out;
  }
}
