// One OAuth grant that reaches several provider accounts (Xero: one login covering several
// organisations) becomes several connections, but it is still ONE credential at the provider: a
// refresh through any of them rotates the refresh token for all. So the tokens live once in the
// vault, in a slot of their own (`grant-<hex>`, same tenant), and each connection's own slot holds
// only a pointer `{ kind: 'shared', credentialId }`. The token manager refreshes the shared slot
// under its one lock (single flight across replicas), and every connection reads the result.
// The shared record lists its connections in `sharedBy` (status changes and "last refreshed" are
// reported to each); disconnecting one leaves the credential to the others until the last one.
import { randomBytes } from 'node:crypto';
import type { StoredCredential } from './credentials.ts';
import type { TokenManager, TokenRecord } from './token-manager.ts';
import type { CredentialVault } from './vault.ts';

const PREFIX = 'grant-';

export function newSharedCredentialId(): string {
  return `${PREFIX}${randomBytes(8).toString('hex')}`;
}

/** The vault slot whose tokens a connection uses (its own, or the shared one it points to), and what that slot holds. */
export async function resolveCredential(
  vault: CredentialVault,
  tenantId: string,
  connectionId: string,
): Promise<{ slot: string; stored: StoredCredential | null }> {
  const own = await vault.get<StoredCredential>(tenantId, connectionId);
  if (own?.kind !== 'shared') return { slot: connectionId, stored: own };
  return { slot: own.credentialId, stored: await vault.get<StoredCredential>(tenantId, own.credentialId) };
}

/** The connections a token record is reported to: its `sharedBy` list, or the one slot it is stored under. */
export function membersOf(record: TokenRecord, slot: string): string[] {
  const shared = record.sharedBy;
  return Array.isArray(shared) && shared.length > 0 ? shared.filter((id): id is string => typeof id === 'string') : [slot];
}

/**
 * Takes `connectionId` off the shared credential, holding its refresh lock (no refresh can write the
 * record back in between). Returns the credential as it was and whether this was its last
 * connection; the credential itself is deleted with the last one (the caller revokes it then).
 */
export async function leaveSharedCredential(
  vault: CredentialVault,
  tokens: TokenManager,
  tenantId: string,
  credentialId: string,
  connectionId: string,
): Promise<{ stored: StoredCredential | null; last: boolean }> {
  return tokens.exclusive(tenantId, credentialId, async () => {
    const stored = await vault.get<StoredCredential>(tenantId, credentialId);
    if (stored?.kind !== 'oauth2') {
      if (stored) await vault.delete(tenantId, credentialId);
      return { stored, last: true };
    }
    const remaining = membersOf(stored, credentialId).filter((id) => id !== connectionId && id !== credentialId);
    if (remaining.length === 0) {
      await vault.delete(tenantId, credentialId);
      return { stored, last: true };
    }
    await vault.put(tenantId, credentialId, { ...stored, sharedBy: remaining });
    return { stored, last: false };
  });
}
