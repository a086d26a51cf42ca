// Storing what an OAuth grant yields: one connection, or the several the connector's afterConnect
// hook answers (one per provider account the grant reaches), each with its credential in the vault
// first and its metadata second. A reconnect replaces its connection and revokes the refresh token
// it replaces.
import type * as client from 'openid-client';
import { ConnectorError } from '../../../connectors/sdk/errors.ts';
import type { ConnectionAuth, ManagedConnection } from '../connections.ts';
import type { StoredCredential } from '../credentials.ts';
import { grantedScopes } from '../oauth-client.ts';
import { leaveSharedCredential, newSharedCredentialId } from '../shared-credentials.ts';
import type { ResolvedOAuthApp } from '../provider-apps.ts';
import type { TokenRecord } from '../token-manager.ts';
import { baseUrlFromGrant, settingsFromGrant } from './grants.ts';
import { revokeConnection } from './revocation.ts';
import { newConnectionId, type ConnectShared } from './shared.ts';

/** One grant to store: whose, of which app, and how it was obtained. */
export interface GrantToStore {
  tenantId: string;
  connectorId: string;
  app: ResolvedOAuthApp;
  tokens: client.TokenEndpointResponse;
  /** The tenant's connect parameters. */
  params: Record<string, string>;
  /** The callback's query (empty for client credentials). */
  callbackParams: Record<string, string>;
  /** The connection this grant re-authorizes, or null for a new one. */
  reconnect: string | null;
  auth: ConnectionAuth;
  /** Scopes asked for, when the token response does not say which were granted. */
  requestedScopes?: string[] | undefined;
}

/**
 * Stores the connections one grant makes: one, or what the connector's afterConnect hook answers
 * (several provider accounts, values the token response lacks). A reconnect replaces its
 * connection with the first.
 */
export async function storeGrant(shared: ConnectShared, grant: GrantToStore): Promise<ManagedConnection[]> {
  const { tenantId, connectorId, app, tokens, params } = grant;
  const connector = shared.connector(connectorId);
  const afterConnect = connector.auth?.afterConnect;
  if (!afterConnect) return [await storeOAuth(shared, grant, params, grant.reconnect)];
  const settings = settingsFromGrant(app, tokens, params);
  const info = {
    id: `${connectorId}-pending`,
    tenantId,
    provider: connectorId,
    baseUrl: grantBaseUrl(shared, grant) ?? connector.manifest.defaultBaseUrl,
    settings,
  };
  const ctx = shared.deps.contexts.forCredential(connector, info, tokens.access_token, shared.bounds());
  const granted = await afterConnect({ tokenResponse: tokens as Record<string, unknown>, callbackParams: grant.callbackParams, settings }, ctx);
  if (granted.length === 0)
    throw new ConnectorError('UPSTREAM_FORBIDDEN', `${connector.manifest.displayName} granted access to no account; nothing was stored`, {
      retryable: false,
    });
  // Several accounts, one grant: one credential in the vault for all (a refresh rotates it for all).
  const sharedId = granted.length > 1 ? newSharedCredentialId() : undefined;
  const { vault, tokens: tokenManager } = shared.deps;
  if (sharedId) await vault.put(tenantId, sharedId, credentialOf(grant, grantedScopes(tokens) ?? grant.requestedScopes ?? app.scopes, Date.now()));
  const stored: ManagedConnection[] = [];
  for (const [i, g] of granted.entries()) {
    stored.push(await storeOAuth(shared, grant, { ...params, ...g.settings }, i === 0 ? grant.reconnect : null, sharedId));
  }
  if (sharedId) {
    const members = stored.map((c) => c.id);
    await tokenManager.exclusive(tenantId, sharedId, async () => {
      const record = await vault.get<StoredCredential>(tenantId, sharedId);
      if (record?.kind === 'oauth2') await vault.put(tenantId, sharedId, { ...record, sharedBy: members });
    });
  }
  return stored;
}

/** This connection's API base URL: from the token response when the connector says so, else the registration's. */
function grantBaseUrl(shared: ConnectShared, grant: GrantToStore): string | null {
  const { config } = shared.deps;
  return baseUrlFromGrant(grant.app, grant.tokens, config.mode !== 'production') ?? config.providers[grant.connectorId]?.baseUrl ?? null;
}

/** The vault record of a grant's tokens. */
function credentialOf(grant: GrantToStore, scopes: string[], now: number): StoredCredential & TokenRecord {
  const { tokens } = grant;
  return {
    kind: 'oauth2',
    accessToken: tokens.access_token,
    refreshToken: typeof tokens.refresh_token === 'string' ? tokens.refresh_token : '',
    expiresAt: typeof tokens.expires_in === 'number' ? now + tokens.expires_in * 1000 : null,
    scopes,
    status: 'ACTIVE',
    lastRefreshedAt: now,
    ...(grant.auth === 'CLIENT_CREDENTIALS' ? { grant: 'client_credentials' as const } : {}),
  };
}

type Replaced = { connection: ManagedConnection; stored: TokenRecord };

async function storeOAuth(
  shared: ConnectShared,
  grant: GrantToStore,
  params: Record<string, string>,
  reconnect: string | null,
  sharedCredentialId?: string,
): Promise<ManagedConnection> {
  const { tenantId, connectorId, app, tokens, auth } = grant;
  const { vault, connections, tokens: tokenManager, log } = shared.deps;
  const settings: Record<string, unknown> = settingsFromGrant(app, tokens, params);
  const baseUrl = grantBaseUrl(shared, grant);
  const now = Date.now();
  const scopes = grantedScopes(tokens) ?? grant.requestedScopes ?? app.scopes;
  const record: StoredCredential = sharedCredentialId ? { kind: 'shared', credentialId: sharedCredentialId } : credentialOf(grant, scopes, now);
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
  const id = reconnect ?? newConnectionId(connectorId);
  let replaced: Replaced | null = null;
  const connection = await tokenManager.exclusive(tenantId, id, async () => {
    const found = reconnect ? await connections.get(reconnect) : null;
    // Ownership was checked when the session was made; ids never move between tenants, but a
    // reconnect only ever replaces a connection of the same tenant and provider.
    const previous = found && found.tenantId === tenantId && found.provider === connectorId ? found : null;
    if (reconnect && !previous) return null;
    let old = previous ? await vault.get<StoredCredential>(tenantId, id).catch(() => null) : null;
    // It used a grant shared with other connections: it leaves it; the grant is revoked only with its last user.
    if (old?.kind === 'shared' && old.credentialId !== sharedCredentialId) {
      const left = await leaveSharedCredential(vault, tokenManager, tenantId, old.credentialId, id).catch(() => null);
      old = left?.last ? left.stored : null;
    }
    const fresh = record.kind === 'oauth2' ? record.refreshToken : null;
    if (previous && old?.kind === 'oauth2' && old.refreshToken && old.refreshToken !== fresh) replaced = { connection: previous, stored: old };
    const next = build(id, previous);
    await vault.put(tenantId, id, record);
    await connections.put(next);
    return next;
  });
  // A reconnect leaves the old grant's refresh token valid at the provider unless it is revoked.
  // Only token-level revocation: deauthorizing the account would cut off the grant just stored.
  const old = replaced as Replaced | null;
  if (old && (app.mode.revocation.type === 'rfc7009' || app.mode.revocation.type === 'token-in-path')) {
    await revokeConnection(shared, old.connection, { ...old.stored, accessToken: '' }).catch((err: unknown) =>
      log.warn({ tenantId, connectionId: id, err: String(err) }, 'reconnect: the previous refresh token could not be revoked'),
    );
  }
  if (connection) {
    await shared.announce(connection, 'ACTIVE', reconnect ? 'reconnected' : 'connected');
    return connection;
  }
  return storeOAuth(shared, grant, params, null, sharedCredentialId);
}
