// Where a connection's upstream credential comes from. Today: the tenants file (a static token or
// the name of an environment variable). The OAuth issue plugs a vault-backed store in here; nothing
// else in the gateway reads credentials.
import type { ConnectionConfig } from '../config.ts';

export interface CredentialStore {
  /** The token to present for this connection right now. Never logged, never returned to clients. */
  accessToken(connection: ConnectionConfig): Promise<string>;
  /** The secret the provider signs this connection's webhooks with; null when none is configured. */
  webhookSecret(connection: ConnectionConfig): Promise<string | null>;
}

export class ConfigCredentialStore implements CredentialStore {
  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async accessToken(connection: ConnectionConfig): Promise<string> {
    return this.resolve(connection, connection.credentials);
  }

  async webhookSecret(connection: ConnectionConfig): Promise<string | null> {
    return connection.webhookSecret ? this.resolve(connection, connection.webhookSecret) : null;
  }

  private resolve(connection: ConnectionConfig, c: NonNullable<ConnectionConfig['webhookSecret']>): string {
    if (c.type === 'static') return c.token;
    const value = this.env[c.variable];
    if (!value) throw new Error(`connection ${connection.id}: environment variable ${c.variable} is not set`);
    return value;
  }
}
