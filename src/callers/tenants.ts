// Tenants, their API keys and their connections. Tenants and their file-defined connections come
// from the tenants file; connections created at runtime (connect flow, API key) come from the
// connection store and are merged in per request. Keys are compared by SHA-256 digest: the map
// lookup happens on the digest, so timing reveals nothing about stored keys, and the plaintext key
// is never held after the request.
import { createHash } from 'node:crypto';
import { API_KEY_SCOPES, type ApiKeyScope, type ConnectionConfig, type ProviderRegistration, type TenantConfig } from '../config.ts';
import { withDeadline } from '../util/bounded.ts';
import type { ConnectionStore, ManagedConnection } from '../accounts/connections.ts';

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key, 'utf8').digest('hex');
}

// Tenants-file keys are known only by their digest, so their length and randomness cannot be
// measured. What can be checked is that a digest is not that of a guessable key: every string of
// up to 3 lower-case letters and digits (the docs' example, sha256("test"), once shipped as one)
// and a list of words people use as placeholders. Production refuses them at startup.
const PLACEHOLDER_KEYS = ['test', 'demo', 'password', 'changeme', 'change-me', 'secret', 'admin', 'apikey', 'api-key', 'token', 'letmein', 'qwerty'];
const PLACEHOLDER_KEYS_NUMERIC = ['1234', '12345', '123456', '1234567', '12345678', '123456789', '0000', '00000000'];
let guessableDigests: Set<string> | null = null;

function guessable(): Set<string> {
  if (guessableDigests) return guessableDigests;
  const out = new Set<string>();
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  for (const a of alphabet) {
    out.add(hashApiKey(a));
    for (const b of alphabet) {
      out.add(hashApiKey(a + b));
      for (const c of alphabet) out.add(hashApiKey(a + b + c));
    }
  }
  for (const w of [...PLACEHOLDER_KEYS, ...PLACEHOLDER_KEYS_NUMERIC]) {
    out.add(hashApiKey(w));
    out.add(hashApiKey(w.toUpperCase()));
  }
  return (guessableDigests = out);
}

/** Tenants-file keys whose digest is that of a guessable key (see above), as startup problems. */
export function guessableKeyProblems(tenants: readonly TenantConfig[]): string[] {
  const digests = guessable();
  return tenants.flatMap((t) =>
    t.apiKeys
      .filter((k) => digests.has(k.sha256))
      .map((k) => `tenant ${t.id}, API key ${k.id}: its sha256 is that of a guessable key (use 32+ random characters, e.g. \`openssl rand -base64 32\`)`),
  );
}

export interface Tenant {
  id: string;
  name: string;
  /** The connections this request may reach: file-defined ones, then runtime ones not DISABLED. */
  connections: ConnectionConfig[];
  /** Allowed return URLs after a connect flow. */
  connectReturnUrls: string[];
  /** Connectors the operator lets this tenant connect with the client-credentials grant, with the scopes allowed (tenants file). */
  clientCredentials?: Readonly<Record<string, { scopes: string[] }>>;
  /**
   * Set when this view could not read the tenant's runtime connections (the store did not answer
   * in time): `connections` then holds the tenants-file ones only, and answers built from it say so.
   */
  runtimeConnectionsUnreadable?: true;
}

/** Who is calling: the tenant and what the presented credential may do. */
export interface Principal {
  tenant: Tenant;
  scopes: ReadonlySet<ApiKeyScope>;
  /** Who is acting, for the audit log: `key:<key id>` (tenants-file or runtime key) or `jwt:<subject>`; never a secret. */
  actor?: string;
}

export class TenantDirectory {
  private readonly byKeyHash = new Map<string, { tenant: Tenant; scopes: ApiKeyScope[]; keyId: string }>();
  private readonly byConnection = new Map<string, { tenant: Tenant; connection: ConnectionConfig }>();
  private readonly byTenantId = new Map<string, Tenant>();

  constructor(
    tenants: TenantConfig[],
    /** Runtime-created connections; null when only the tenants file counts. */
    private readonly store: ConnectionStore | null = null,
    private readonly providers: Record<string, ProviderRegistration> = {},
    /** How long to wait for the store before answering with the tenants-file connections only. */
    private readonly storeTimeoutMs = 250,
    private readonly onStoreError: (err: unknown) => void = () => undefined,
  ) {
    for (const t of tenants) {
      const tenant: Tenant = {
        id: t.id,
        name: t.name ?? t.id,
        connections: t.connections,
        connectReturnUrls: t.connectReturnUrls ?? [],
        ...(t.clientCredentials ? { clientCredentials: t.clientCredentials } : {}),
      };
      this.byTenantId.set(t.id, tenant);
      for (const k of t.apiKeys) this.byKeyHash.set(k.sha256, { tenant, scopes: k.scopes ?? [...API_KEY_SCOPES], keyId: k.id });
      for (const c of t.connections) this.byConnection.set(c.id, { tenant, connection: c });
    }
  }

  /** The tenant and scopes of a tenants-file API key, or null. */
  authenticate(apiKey: string): { tenant: Tenant; scopes: ApiKeyScope[]; keyId: string } | null {
    return this.byKeyHash.get(hashApiKey(apiKey)) ?? null;
  }

  /** A tenant by id (JWTs and runtime API keys name their tenant). */
  byId(tenantId: string): Tenant | null {
    return this.byTenantId.get(tenantId) ?? null;
  }

  /** True when a connection id is taken by the tenants file (runtime ids must not collide). */
  isFileConnection(connectionId: string): boolean {
    return this.byConnection.has(connectionId);
  }

  /**
   * The tenant with its runtime connections merged in, as one request sees it. When the store
   * (Redis) does not answer in time, the tenants-file connections still serve: runtime ones are
   * unreachable anyway without Redis, since their credentials live there too. `fresh` reads the
   * store now, past the cache and its deadline (the poller, which must not hold up requests).
   */
  async view(tenant: Tenant, options: { fresh?: boolean } = {}): Promise<Tenant> {
    if (!this.store) return tenant;
    let managed: ManagedConnection[];
    try {
      // fresh: read now, without the per-request cache or its deadline (background readers).
      managed = options.fresh
        ? await this.store.readTenant(tenant.id)
        : await withDeadline(this.store.listByTenant(tenant.id), this.storeTimeoutMs, 'reading runtime connections');
    } catch (err) {
      this.onStoreError(err);
      return { ...tenant, runtimeConnectionsUnreadable: true };
    }
    if (managed.length === 0) return tenant;
    const reachable = managed.filter((m) => m.status !== 'DISABLED' && !this.byConnection.has(m.id)).map((m) => this.toConfig(m));
    return { ...tenant, connections: [...tenant.connections, ...reachable] };
  }

  /** The tenant owning a connection id, with that connection (webhooks arrive addressed to one). */
  async ownerOf(connectionId: string): Promise<{ tenant: Tenant; connection: ConnectionConfig } | null> {
    const file = this.byConnection.get(connectionId);
    if (file) return file;
    if (!this.store) return null;
    // No deadline here: webhook intake already answers 503 when Redis cannot confirm, and the worker retries.
    const managed = await this.store.get(connectionId);
    if (!managed || managed.status === 'DISABLED') return null;
    const tenant = this.byTenantId.get(managed.tenantId);
    if (!tenant) return null;
    const view = await this.view(tenant);
    const connection = view.connections.find((c) => c.id === connectionId);
    return connection ? { tenant: view, connection } : null;
  }

  /** A runtime connection as the rest of the gateway sees connections. */
  private toConfig(m: ManagedConnection): ConnectionConfig {
    const registration = this.providers[m.provider];
    const baseUrl = m.baseUrl ?? registration?.baseUrl;
    return {
      id: m.id,
      provider: m.provider,
      credentials: { type: 'vault' },
      settings: m.settings,
      ...(baseUrl ? { baseUrl } : {}),
      ...(registration?.rateLimit ? { rateLimit: registration.rateLimit } : {}),
      ...(registration?.polling ? { polling: registration.polling } : {}),
    };
  }
}
