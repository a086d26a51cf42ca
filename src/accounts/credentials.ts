// Where a connection's upstream credential comes from: the tenants file (a static token or an
// environment variable) or, for connections created at runtime, the encrypted vault, through the
// token manager for OAuth tokens. Nothing else in the gateway reads credentials.
//
// Failures become connector errors the client can act on:
//   - refresh token rejected (invalid_grant) → UPSTREAM_UNAUTHORIZED "needs to be re-authorized";
//   - vault record that does not decrypt (tampered, copied, master key gone) → the connection is
//     marked NEEDS_REAUTH and the query gets UPSTREAM_UNAUTHORIZED; nothing crashes;
//   - refresh failing for another reason (provider down, timeout) → UPSTREAM_UNAVAILABLE.
// No message ever carries token material.
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { ConnectionConfig } from '../config.ts';
import { recordStatus, type ConnectionStore } from './connections.ts';
import { resolveFileCredential, type ProviderApps } from './provider-apps.ts';
import { resolveCredential, type SharedCredentialPointer } from './shared-credentials.ts';
import { NeedsReauthError, TokenRefreshError, type TokenManager, type TokenRecord } from './token-manager.ts';
import { VaultDecryptError, type CredentialVault } from './vault.ts';

export interface CredentialStore {
  /** The token to present for this connection right now. Never logged, never returned to clients. */
  accessToken(tenantId: string, connection: ConnectionConfig): Promise<string>;
  /**
   * The provider answered 401 to `rejected`: a replacement to retry with once, or null when the
   * credential cannot be renewed (static keys) — then the 401 stands.
   */
  afterUnauthorized(tenantId: string, connection: ConnectionConfig, rejected: string): Promise<string | null>;
  /** The secret the provider signs this connection's webhooks with; null when none is configured. */
  webhookSecret(connection: ConnectionConfig): Promise<string | null>;
  /** The secret of the operator's app-level webhook URL for a provider; null when none is registered. */
  appWebhookSecret(provider: string): Promise<string | null>;
}

/** What the vault holds for a runtime-created connection. */
export type StoredCredential =
  | ({ kind: 'oauth2' } & TokenRecord)
  | { kind: 'api_key'; apiKey: string }
  | { kind: 'basic'; username: string; password: string }
  /** The tokens of a grant several connections share, stored once under `credentialId`. */
  | SharedCredentialPointer;

/** What a connection's credential resolved to: the tokens, and the vault slot they live in. */
type ResolvedCredential = Exclude<StoredCredential, { kind: 'shared' }>;

/** Tenants-file credentials (a static token or an environment variable); the base of VaultCredentialStore. */
export class ConfigCredentialStore implements CredentialStore {
  constructor(protected readonly env: NodeJS.ProcessEnv = process.env) {}

  async accessToken(_tenantId: string, connection: ConnectionConfig): Promise<string> {
    if (connection.credentials.type === 'vault') throw new ConnectorError('UPSTREAM_UNAUTHORIZED', `connection ${connection.id} has no stored credentials`);
    return resolveFileCredential(`connection ${connection.id}`, connection.credentials, this.env);
  }

  async afterUnauthorized(_tenantId: string, _connection: ConnectionConfig, _rejected: string): Promise<string | null> {
    return null;
  }

  async webhookSecret(connection: ConnectionConfig): Promise<string | null> {
    return connection.webhookSecret ? resolveFileCredential(`connection ${connection.id} webhook secret`, connection.webhookSecret, this.env) : null;
  }

  async appWebhookSecret(_provider: string): Promise<string | null> {
    return null;
  }
}

export interface VaultCredentialStoreOptions {
  vault: CredentialVault;
  tokens: TokenManager;
  apps: ProviderApps;
  connections: ConnectionStore;
  env?: NodeJS.ProcessEnv;
}

export class VaultCredentialStore extends ConfigCredentialStore {
  constructor(private readonly options: VaultCredentialStoreOptions) {
    super(options.env);
  }

  override async accessToken(tenantId: string, connection: ConnectionConfig): Promise<string> {
    if (connection.credentials.type !== 'vault') return super.accessToken(tenantId, connection);
    const { slot, stored } = await this.read(tenantId, connection);
    if (stored.kind === 'api_key') return stored.apiKey;
    if (stored.kind === 'basic') return Buffer.from(`${stored.username}:${stored.password}`).toString('base64');
    const client = () => {
      const c = this.options.apps.tokenClient(connection);
      if (!c)
        throw new ConnectorError(
          'UPSTREAM_UNAUTHORIZED',
          `${connection.provider} has no OAuth app registered with this gateway; connection ${connection.id} cannot renew its token`,
        );
      return c;
    };
    // The record just read goes along: no second vault read on the common (fresh token) path.
    return this.translate(connection, () => this.options.tokens.accessToken(tenantId, slot, client, stored));
  }

  override async afterUnauthorized(tenantId: string, connection: ConnectionConfig, rejected: string): Promise<string | null> {
    if (connection.credentials.type !== 'vault') return null;
    const { slot, stored } = await this.read(tenantId, connection);
    if (stored.kind !== 'oauth2') return null;
    const client = this.options.apps.tokenClient(connection);
    if (!client) return null;
    return this.translate(connection, () => this.options.tokens.forceRefresh(tenantId, slot, client, rejected));
  }

  override async webhookSecret(connection: ConnectionConfig): Promise<string | null> {
    if (connection.credentials.type !== 'vault') return super.webhookSecret(connection);
    return this.appWebhookSecret(connection.provider);
  }

  override async appWebhookSecret(provider: string): Promise<string | null> {
    const secret = this.options.apps.registration(provider)?.webhookSecret;
    return secret ? resolveFileCredential(`providers.${provider}.webhookSecret`, secret, this.env) : null;
  }

  private async read(tenantId: string, connection: ConnectionConfig): Promise<{ slot: string; stored: ResolvedCredential }> {
    let resolved: { slot: string; stored: StoredCredential | null };
    try {
      resolved = await resolveCredential<StoredCredential>(this.options.vault, tenantId, connection.id);
    } catch (err) {
      if (!(err instanceof VaultDecryptError)) throw err;
      const reason = 'the stored credentials could not be decrypted';
      await recordStatus(this.options.connections, tenantId, connection.id, 'NEEDS_REAUTH', reason);
      throw new ConnectorError('UPSTREAM_UNAUTHORIZED', `connection ${connection.id} needs to be re-authorized: ${reason}. Reconnect it to restore access.`);
    }
    const { slot, stored } = resolved;
    if (!stored || stored.kind === 'shared')
      throw new ConnectorError('UPSTREAM_UNAUTHORIZED', `connection ${connection.id} has no stored credentials; reconnect it`);
    return { slot, stored };
  }

  private async translate(connection: ConnectionConfig, get: () => Promise<string>): Promise<string> {
    try {
      return await get();
    } catch (err) {
      if (err instanceof NeedsReauthError)
        throw new ConnectorError(
          'UPSTREAM_UNAUTHORIZED',
          `connection ${connection.id} needs to be re-authorized: ${err.reason}. Reconnect it to restore access.`,
        );
      if (err instanceof TokenRefreshError) throw new ConnectorError('UPSTREAM_UNAVAILABLE', `${connection.provider}: ${err.message}`, { retryable: false });
      throw err;
    }
  }
}
