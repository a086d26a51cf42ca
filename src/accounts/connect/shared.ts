// What every part of the connect flow needs: its dependencies, the connector and connection
// lookups that refuse with a clear message, the OAuth client configuration of an app, and the
// status announcement and audit entry that follow a change. Nothing here is specific to one way of
// connecting, nor to one provider.
import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import type * as client from 'openid-client';
import type { Connector } from '../../../connectors/sdk/types.ts';
import type { AuditInput, AuditLog } from '../../audit/log.ts';
import type { Tenant, TenantDirectory } from '../../callers/tenants.ts';
import type { GatewayConfig } from '../../config.ts';
import { badUserInput } from '../../errors.ts';
import type { ConnectorContexts } from '../../upstream/connector-context.ts';
import type { ConnectionStore, ManagedConnection, StatusEvent } from '../connections.ts';
import { oauthConfiguration } from '../oauth-client.ts';
import type { ProviderApps, ResolvedOAuthApp } from '../provider-apps.ts';
import type { TokenManager } from '../token-manager.ts';
import type { CredentialVault } from '../vault.ts';

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

/**
 * A provider's OAuth `error` as we repeat it: a plain RFC 6749 code (lower-case letters and "_",
 * at most 64), else `fallback`. The value comes from a redirect or a response body anyone can
 * shape, and goes into pages, redirects and GraphQL messages.
 */
export function oauthErrorCode(value: string | null | undefined, fallback: string): string {
  return typeof value === 'string' && /^[a-z_]{1,64}$/.test(value) ? value : fallback;
}

export const newConnectionId = (connectorId: string): string => `${connectorId}-${randomBytes(6).toString('hex')}`;

export class ConnectShared {
  constructor(readonly deps: ConnectFlowDeps) {}

  connector(id: string): Connector {
    const connector = this.deps.connectors.get(id);
    if (!connector) throw badUserInput(`unknown connector "${id}" (known: ${[...this.deps.connectors.keys()].join(', ')})`, 'connector');
    return connector;
  }

  /** A runtime connection of this tenant (of `provider`, when given); another tenant's answers like a missing one. */
  async ownManaged(tenant: Tenant, connectionId: string, provider?: string): Promise<ManagedConnection> {
    if (this.deps.directory.isFileConnection(connectionId) && tenant.connections.some((c) => c.id === connectionId)) {
      throw badUserInput(`connection "${connectionId}" is defined in the tenants file; change it there`, 'connectionId');
    }
    const c = await this.deps.connections.get(connectionId);
    // Another tenant's connection answers exactly like a missing one.
    if (!c || c.tenantId !== tenant.id) throw badUserInput(`no connection "${connectionId}"`, 'connectionId');
    if (provider && c.provider !== provider) throw badUserInput(`connection "${connectionId}" is a ${c.provider} connection`, 'reconnect');
    return c;
  }

  oauthConfig(app: ResolvedOAuthApp): client.Configuration {
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
      ...(app.mode.tokenResponseDefaults ? { tokenResponseDefaults: app.mode.tokenResponseDefaults } : {}),
      timeoutSeconds: Math.max(1, Math.floor(this.deps.config.limits.upstreamAttemptTimeoutMs / 1000)),
    });
  }

  /** A deadline for one call to the provider made while connecting. */
  bounds(): { signal: AbortSignal; deadline: number } {
    const ms = this.deps.config.limits.requestDeadlineMs;
    return { signal: AbortSignal.timeout(ms), deadline: Date.now() + ms };
  }

  /** Records an audit entry; the audit store failing must not undo what already happened. */
  async audited(entry: AuditInput): Promise<void> {
    await this.deps.audit.record(entry).catch((err: unknown) => this.deps.log.warn({ err: String(err) }, 'audit log unavailable'));
  }

  async announce(c: ManagedConnection, status: StatusEvent['status'], reason: string): Promise<void> {
    await this.deps.connections.publish({ tenantId: c.tenantId, connectionId: c.id, provider: c.provider, status, reason, at: new Date().toISOString() });
  }
}
