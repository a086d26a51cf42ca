// Giving access back at disconnect, by the revocation kind the connector declares
// (manifest.auth.oauth2.revocation). The kinds are generic HTTP shapes; no provider is named here.
import * as client from 'openid-client';
import type { ConnectionStore, ManagedConnection } from '../connections.ts';
import { stringSettings, type ResolvedOAuthApp } from '../provider-apps.ts';
import type { TokenRecord } from '../token-manager.ts';
import type { ConnectShared } from './shared.ts';

/**
 * 'shared': another connection of the same tenant uses the same provider account, so access stays
 * (deauthorizing would cut it off too). 'kept': the same, but the other connection is not this
 * tenant's — the caller must answer exactly as for 'unsupported', so nobody learns that another
 * tenant connected the account.
 */
export type RevocationOutcome = 'revoked' | 'unsupported' | 'shared' | 'kept';

export interface RevocationRequest {
  app: ResolvedOAuthApp;
  revocationUrl: string;
  connection: ManagedConnection;
  stored: TokenRecord;
  connections: Pick<ConnectionStore, 'bySetting'>;
  oauthConfig: () => client.Configuration;
  /** The connection's API base URL (its own, the operator's override, or the manifest's default). */
  apiBaseUrl: string;
  signal: AbortSignal;
  /** Other connections still use this very credential (one grant, several accounts): never revoke the token. */
  sharedGrant?: { renewAccessToken: () => Promise<string> };
}

/** `{name}` placeholders filled from the connection's settings; undefined when one is missing. */
function fillFromSettings(template: string, settings: Record<string, unknown>): string | undefined {
  let missing = false;
  const filled = template.replace(/\{(\w+)\}/g, (_m, name: string) => {
    const v = settings[name];
    if (typeof v !== 'string' || v === '') missing = true;
    return encodeURIComponent(String(v ?? ''));
  });
  return missing ? undefined : filled;
}

/** Revokes at the provider; throws when the provider does not confirm (the caller deletes the credentials anyway). */
export async function revokeAtProvider(r: RevocationRequest): Promise<RevocationOutcome> {
  const { app, revocationUrl, connection, stored, signal } = r;
  const revocation = app.mode.revocation;
  switch (revocation.type) {
    case 'rfc7009': {
      if (r.sharedGrant) return 'shared';
      const token = stored.refreshToken || stored.accessToken;
      await client.tokenRevocation(r.oauthConfig(), token, { token_type_hint: stored.refreshToken ? 'refresh_token' : 'access_token' });
      return 'revoked';
    }
    case 'token-in-path': {
      if (r.sharedGrant) return 'shared';
      if (!stored.refreshToken) return 'unsupported';
      const res = await fetch(`${revocationUrl.replace(/\/$/, '')}/${encodeURIComponent(stored.refreshToken)}`, { method: 'DELETE', signal });
      // 404: already gone at the provider, which is what we wanted.
      if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new Error(`revocation answered ${res.status}`);
      return 'revoked';
    }
    case 'account-deauthorize': {
      const account = connection.settings[revocation.accountSetting];
      if (typeof account !== 'string') return 'unsupported';
      // Deauthorizing unlinks the whole account from the app: not while another connection uses it.
      const sharing = await r.connections.bySetting(connection.provider, revocation.accountSetting, account);
      const others = sharing.filter((c) => c.id !== connection.id);
      if (others.some((c) => c.tenantId === connection.tenantId)) return 'shared';
      if (others.length) return 'kept';
      const res = await fetch(revocationUrl, {
        method: 'POST',
        headers: { authorization: `Bearer ${app.clientSecret}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ client_id: app.clientId, [revocation.accountParam]: account }),
        signal,
      });
      if (!res.ok) throw new Error(`revocation answered ${res.status}`);
      return 'revoked';
    }
    case 'remove-connection': {
      const path = fillFromSettings(revocation.removePath, connection.settings);
      if (!path) return 'unsupported';
      const grant = connection.settings[revocation.grantSetting];
      const sharing = typeof grant === 'string' ? await r.connections.bySetting(connection.provider, revocation.grantSetting, grant) : [];
      const last = !r.sharedGrant && !sharing.some((c) => c.id !== connection.id);
      const url = new URL(path.replace(/^\//, ''), r.apiBaseUrl.endsWith('/') ? r.apiBaseUrl : `${r.apiBaseUrl}/`).toString();
      const remove = (token: string) => fetch(url, { method: 'DELETE', headers: { authorization: `Bearer ${token}` }, signal });
      let res = await remove(stored.accessToken);
      let refreshToken = stored.refreshToken;
      // An expired access token: renew it, but only when no other connection shares the grant, since
      // the refresh rotates the token the others hold (and this one is revoked right after).
      if (res.status === 401 && last && refreshToken) {
        const renewed = await client.refreshTokenGrant(r.oauthConfig(), refreshToken);
        if (typeof renewed.refresh_token === 'string') refreshToken = renewed.refresh_token;
        res = await remove(renewed.access_token);
      } else if (res.status === 401 && r.sharedGrant) {
        // Renewed through the token manager: the other connections get the rotated token too.
        res = await remove(await r.sharedGrant.renewAccessToken());
      }
      // 404: the account already left the grant at the provider, which is what we wanted.
      if (res.status !== 204 && res.status !== 200 && res.status !== 404) throw new Error(`removing the connection answered ${res.status}`);
      if (last && refreshToken) await client.tokenRevocation(r.oauthConfig(), refreshToken, { token_type_hint: 'refresh_token' });
      return 'revoked';
    }
    case 'none':
      return 'unsupported';
  }
}

/** Revokes a connection's grant with its OAuth app, the way the connector declares. */
export async function revokeConnection(
  shared: ConnectShared,
  connection: ManagedConnection,
  stored: TokenRecord,
  /** The shared credential (one grant, several accounts) other connections still use. */
  sharedCredentialId?: string,
): Promise<RevocationOutcome> {
  const { apps, config, tokens } = shared.deps;
  const app = apps.oauthApp(connection.provider, stringSettings(connection.settings));
  if (!app || !app.revocationUrl) return 'unsupported';
  const tokenClient = sharedCredentialId ? apps.tokenClient({ ...connection, credentials: { type: 'vault' }, baseUrl: connection.baseUrl ?? undefined }) : null;
  // Renewed through the token manager, so the other connections get the rotated token too.
  const sharedGrant = sharedCredentialId
    ? {
        renewAccessToken: () =>
          tokenClient
            ? tokens.forceRefresh(connection.tenantId, sharedCredentialId, tokenClient, stored.accessToken)
            : Promise.reject(new Error('no OAuth app registered to renew the shared token')),
      }
    : undefined;
  return revokeAtProvider({
    ...(sharedGrant ? { sharedGrant } : {}),
    app,
    revocationUrl: app.revocationUrl,
    connection,
    stored,
    connections: shared.deps.connections,
    oauthConfig: () => shared.oauthConfig(app),
    apiBaseUrl: connection.baseUrl ?? config.providers[connection.provider]?.baseUrl ?? shared.connector(connection.provider).manifest.defaultBaseUrl,
    signal: AbortSignal.timeout(config.limits.upstreamAttemptTimeoutMs),
  });
}
