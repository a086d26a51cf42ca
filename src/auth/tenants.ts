// Tenants, their API keys and their connections, as loaded from the tenants file. Keys are
// compared by SHA-256 digest: the map lookup happens on the digest, so timing reveals nothing
// about stored keys, and the plaintext key is never held after the request.
import { createHash } from 'node:crypto';
import type { ConnectionConfig, TenantConfig } from '../config.ts';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

export interface Tenant {
  id: string;
  name: string;
  connections: ConnectionConfig[];
}

export class TenantDirectory {
  private readonly byKeyHash = new Map<string, Tenant>();
  private readonly byConnection = new Map<string, { tenant: Tenant; connection: ConnectionConfig }>();
  private readonly byTenantId = new Map<string, Tenant>();

  constructor(tenants: TenantConfig[]) {
    for (const t of tenants) {
      const tenant: Tenant = { id: t.id, name: t.name ?? t.id, connections: t.connections };
      this.byTenantId.set(t.id, tenant);
      for (const k of t.apiKeys) this.byKeyHash.set(k.sha256, tenant);
      for (const c of t.connections) this.byConnection.set(c.id, { tenant, connection: c });
    }
  }

  /** The tenant owning a bearer API key, or null. */
  authenticate(apiKey: string): Tenant | null {
    return this.byKeyHash.get(hashApiKey(apiKey)) ?? null;
  }

  /** A tenant by id (JWTs name their tenant in a claim). */
  byId(tenantId: string): Tenant | null {
    return this.byTenantId.get(tenantId) ?? null;
  }

  /** The tenant owning a connection id (webhooks arrive addressed to a connection). */
  ownerOf(connectionId: string): { tenant: Tenant; connection: ConnectionConfig } | null {
    return this.byConnection.get(connectionId) ?? null;
  }

  /** A connection, only if it belongs to the given tenant (so ids from other tenants resolve to nothing). */
  connectionOf(tenantId: string, connectionId: string): ConnectionConfig | null {
    const hit = this.byConnection.get(connectionId);
    return hit && hit.tenant.id === tenantId ? hit.connection : null;
  }
}
