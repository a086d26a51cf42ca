// Letting go of a connection (revoke at the provider where the connector declares a way, then
// delete the credentials and the connection) and switching one off and on.
import type { Tenant } from '../../callers/tenants.ts';
import { badUserInput } from '../../errors.ts';
import type { ManagedConnection } from '../connections.ts';
import type { StoredCredential } from '../credentials.ts';
import { leaveSharedCredential, resolveCredential } from '../shared-credentials.ts';
import { VaultDecryptError } from '../vault.ts';
import { revokeConnection, type RevocationOutcome } from './revocation.ts';
import type { ConnectShared } from './shared.ts';

export interface DisconnectResult {
  connectionId: string;
  revokedAtProvider: boolean;
  message: string;
}

const REVOCATION_MESSAGES: Record<RevocationOutcome, string> = {
  revoked: 'access revoked at the provider and credentials deleted',
  shared: 'other connections of this tenant use this provider account, so access was not revoked there; credentials deleted',
  // 'kept' answers exactly as 'unsupported': nobody learns that another tenant connected the account.
  kept: 'the provider offers no revocation here; credentials deleted',
  unsupported: 'the provider offers no revocation here; credentials deleted',
};

/** Revokes what can be revoked; answers whether it was and what to tell the tenant. Never throws for the provider's sake. */
async function revokeStored(shared: ConnectShared, connection: ManagedConnection): Promise<{ revoked: boolean; message: string }> {
  const { vault, tokens, log } = shared.deps;
  try {
    let stored: StoredCredential | null = null;
    let sharedWithOthers: string | undefined;
    try {
      stored = await vault.get<StoredCredential>(connection.tenantId, connection.id);
      if (stored?.kind === 'shared') {
        // The grant's tokens stay for the other connections; revoked with the last one.
        const left = await leaveSharedCredential(vault, tokens, connection.tenantId, stored.credentialId, connection.id);
        if (!left.last) sharedWithOthers = stored.credentialId;
        stored = left.stored;
      }
    } catch (err) {
      if (!(err instanceof VaultDecryptError)) throw err;
      // Without the tokens nothing can be revoked: the grant stays live at the provider.
      log.warn(
        { tenantId: connection.tenantId, connectionId: connection.id, provider: connection.provider },
        'disconnect: credentials undecryptable, grant not revoked',
      );
      return {
        revoked: false,
        message:
          "the stored credentials could not be decrypted, so access was NOT revoked at the provider: revoke the app in the provider's settings; the connection was deleted",
      };
    }
    if (stored?.kind !== 'oauth2') return { revoked: false, message: 'credentials deleted' };
    const outcome = await revokeConnection(shared, connection, stored, sharedWithOthers);
    return { revoked: outcome === 'revoked', message: REVOCATION_MESSAGES[outcome] };
  } catch {
    return {
      revoked: false,
      message: "the provider did not confirm the revocation; credentials deleted anyway (revoke the app in the provider's settings to be sure)",
    };
  }
}

export async function disconnect(shared: ConnectShared, tenant: Tenant, connectionId: string): Promise<DisconnectResult> {
  const { tokens, vault, connections } = shared.deps;
  const connection = await shared.ownManaged(tenant, connectionId);
  // Holding the refresh lock: no refresh can store new tokens after these are revoked and deleted.
  const result = await tokens.exclusive(tenant.id, connectionId, async () => {
    const { revoked, message } = await revokeStored(shared, connection);
    await vault.delete(tenant.id, connectionId);
    await connections.delete(tenant.id, connectionId);
    return { connectionId, revokedAtProvider: revoked, message };
  });
  await connections.publish({
    tenantId: tenant.id,
    connectionId,
    provider: connection.provider,
    status: 'DELETED',
    reason: result.message,
    at: new Date().toISOString(),
  });
  return result;
}

export async function setEnabled(shared: ConnectShared, tenant: Tenant, connectionId: string, enabled: boolean): Promise<ManagedConnection> {
  const { vault, connections } = shared.deps;
  const current = await shared.ownManaged(tenant, connectionId);
  if (enabled && current.status !== 'DISABLED') return current;
  // Enabling restores what the credential says: NEEDS_REAUTH stays until the tenant reconnects.
  let status: ManagedConnection['status'] = 'DISABLED';
  let lastError: string | null = 'disabled by the tenant';
  if (enabled) {
    // A record that does not decrypt stays NEEDS_REAUTH; one that cannot be read right now (the
    // store is down) is not proof of anything: first use will tell.
    let broken: string | null = null;
    try {
      const { stored } = await resolveCredential<StoredCredential>(vault, tenant.id, connectionId);
      if (stored?.kind === 'oauth2' && stored.status === 'NEEDS_REAUTH') broken = stored.lastError ?? 'the provider refused the refresh token';
    } catch (err) {
      if (err instanceof VaultDecryptError) broken = 'the stored credentials could not be decrypted';
      else throw err;
    }
    status = broken ? 'NEEDS_REAUTH' : 'ACTIVE';
    lastError = broken;
  }
  const updated = await connections.update(connectionId, { status, lastError });
  if (!updated) throw badUserInput(`no connection "${connectionId}"`, 'connectionId');
  await shared.announce(updated, status, lastError ?? 'enabled by the tenant');
  return updated;
}
