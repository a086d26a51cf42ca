// One OAuth grant that reaches several provider accounts (Xero: one login covering several
// organisations) becomes several connections, but it is still ONE credential at the provider: a
// refresh through any of them rotates the refresh token for all. So the tokens live once in the
// vault, in a slot of their own (`grant-<hex>`, same tenant), and each connection's own slot holds
// only a pointer `{ kind: 'shared', credentialId }`. The token manager refreshes the shared slot
// under its one lock (single flight across replicas), and every connection reads the result.
// The shared record lists its connections in `sharedBy` (status changes and "last refreshed" are
// reported to each); disconnecting one leaves the credential to the others until the last one.
import { randomBytes } from 'node:crypto';
import { membersOf, type TokenManager, type TokenRecord } from './token-manager.ts';
import type { CredentialVault, VaultSecret } from './vault.ts';

/** What a connection's own slot holds when its tokens are shared. */
export type SharedCredentialPointer = {
  kind: 'shared';
  credentialId: string;
};

/** Any stored credential: tagged by `kind` (credentials.ts StoredCredential). */
type Tagged = VaultSecret & { kind: string };

const PREFIX = 'grant-';

export function newSharedCredentialId(): string {
  return `${PREFIX}${randomBytes(8).toString('hex')}`;
}

/** The vault slot whose tokens a connection uses (its own, or the shared one it points to), and what that slot holds. */
export async function resolveCredential<T extends Tagged>(
  vault: CredentialVault,
  tenantId: string,
  connectionId: string,
): Promise<{ slot: string; stored: T | SharedCredentialPointer | null }> {
  const own = await vault.get<T | (SharedCredentialPointer & VaultSecret)>(tenantId, connectionId);
  if (own?.kind !== 'shared') return { slot: connectionId, stored: own };
  const credentialId = (own as SharedCredentialPointer).credentialId;
  return { slot: credentialId, stored: await vault.get<T>(tenantId, credentialId) };
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
): Promise<{ stored: (TokenRecord & { kind: 'oauth2' }) | null; last: boolean }> {
  return tokens.exclusive(tenantId, credentialId, async () => {
    const found = await vault.get<TokenRecord & { kind?: string }>(tenantId, credentialId);
    const stored = found?.kind === 'oauth2' ? (found as TokenRecord & { kind: 'oauth2' }) : null;
    if (!stored) {
      if (found) await vault.delete(tenantId, credentialId);
      return { stored: null, last: true };
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
