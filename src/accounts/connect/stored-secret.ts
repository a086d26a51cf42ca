// Connecting with a long-lived secret the tenant pastes in (API key, or user name + password sent
// as HTTP Basic): the connector checks the parameters (and may choose the base URL), one cheap read
// proves the provider accepts the secret, and only then is anything stored.
import { ConnectorError } from '../../../connectors/sdk/errors.ts';
import type { Connector, EntityLoader } from '../../../connectors/sdk/types.ts';
import type { Tenant } from '../../callers/tenants.ts';
import { badUserInput } from '../../errors.ts';
import type { ManagedConnection } from '../connections.ts';
import type { StoredCredential } from '../credentials.ts';
import { newConnectionId, type ConnectShared } from './shared.ts';

export type TenantSecret = { kind: 'api_key'; apiKey: string } | { kind: 'basic'; username: string; password: string };

/** Refuses a secret of a kind or shape the connector does not take, and settings the tenant may not set. */
function checkSecret(connector: Connector, secret: TenantSecret, settings: Record<string, unknown>): void {
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
}

/** One cheap read with the new credential; a 401/403 means the provider refuses it. */
async function probe(
  shared: ConnectShared,
  tenantId: string,
  connector: Connector,
  target: { id: string; baseUrl: string; settings: Record<string, unknown> },
  token: string,
): Promise<void> {
  const entity = connector.manifest.entities[0];
  const loader = entity ? (connector.loaders[entity] as EntityLoader<unknown> | undefined) : undefined;
  if (!loader) return;
  const info = { id: target.id, tenantId, provider: connector.manifest.id, baseUrl: target.baseUrl, settings: target.settings };
  const ctx = shared.deps.contexts.forCredential(connector, info, token, shared.bounds());
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

export async function connectWithSecret(
  shared: ConnectShared,
  tenant: Tenant,
  connectorId: string,
  secret: TenantSecret,
  settings: Record<string, unknown>,
): Promise<ManagedConnection> {
  const { config, vault, connections } = shared.deps;
  const connector = shared.connector(connectorId);
  checkSecret(connector, secret, settings);
  const id = newConnectionId(connectorId);
  const target = await connector.auth?.connectionTarget?.({ settings, production: config.mode === 'production' });
  if (target && !target.ok) throw badUserInput(target.error.message, 'settings');
  const baseUrl = target?.value.baseUrl ?? config.providers[connectorId]?.baseUrl ?? null;
  const token = secret.kind === 'api_key' ? secret.apiKey : Buffer.from(`${secret.username}:${secret.password}`).toString('base64');
  await probe(shared, tenant.id, connector, { id, baseUrl: baseUrl ?? connector.manifest.defaultBaseUrl, settings }, token);
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
  await vault.put(tenant.id, id, secret satisfies StoredCredential);
  await connections.put(connection);
  await shared.announce(connection, 'ACTIVE', 'connected with a stored credential');
  return connection;
}
