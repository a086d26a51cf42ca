// Per-request context: who is asking (tenant), what they may reach (their connections), the
// request's loaders, deadline and abort signal, and the partial errors collected along the way.
import type { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { Connector, ConnectorContext, UpstreamFetch } from '../connectors/sdk/types.ts';
import type { EntityCache } from './cache/entity-cache.ts';
import type { CredentialStore } from './auth/credentials.ts';
import type { ConnectionStore } from './auth/connections.ts';
import type { CredentialVault } from './auth/vault.ts';
import type { ApiKeyStore } from './auth/api-keys.ts';
import type { ConnectFlow } from './auth/connect.ts';
import type { Principal, Tenant, TenantDirectory } from './auth/tenants.ts';
import type { ConnectionConfig, GatewayConfig } from './config.ts';
import type { UpstreamClient } from './http/upstream.ts';
import type { EventPipeline } from './events/pipeline.ts';
import { RequestLoaders, type ConnectionHandle } from './loaders/request-loaders.ts';

/** Long-lived services shared by every request of one gateway. */
export interface GatewayServices {
  config: GatewayConfig;
  directory: TenantDirectory;
  connectors: ReadonlyMap<string, Connector>;
  upstream: UpstreamClient;
  cache: EntityCache;
  credentials: CredentialStore;
  /** Runtime-created connections and the status channel. */
  connections: ConnectionStore;
  /** Encrypted credentials of runtime-created connections. */
  vault: CredentialVault;
  /** Runtime-issued tenant API keys. */
  apiKeys: ApiKeyStore;
  /** Connecting provider accounts. */
  connect: ConnectFlow;
  log: Logger;
  /** The event pipeline (set once built; it needs the other services). */
  events: EventPipeline | null;
}

export class RequestContext {
  readonly loaders: RequestLoaders;
  /** Errors of one provider that do not void the whole answer (partial data). */
  readonly partialErrors: GraphQLError[] = [];
  private readonly handles = new Map<string, ConnectionHandle>();

  readonly tenant: Tenant;
  /** scheme://host[:port] the client reached the gateway at (connect links are built on it). */
  publicBase = 'http://localhost';

  constructor(
    readonly services: GatewayServices,
    readonly principal: Principal,
    readonly signal: AbortSignal,
    readonly deadline: number,
  ) {
    this.tenant = principal.tenant;
    this.loaders = new RequestLoaders(this.tenant.id, services.cache);
  }

  get connect(): ConnectFlow {
    return this.services.connect;
  }

  get config(): GatewayConfig {
    return this.services.config;
  }

  get events(): EventPipeline {
    if (!this.services.events) throw new Error('event pipeline not started');
    return this.services.events;
  }

  /** The tenant's connections, in configuration order. */
  connections(): ConnectionHandle[] {
    return this.tenant.connections.map((c) => this.handleFor(c)).filter((h): h is ConnectionHandle => h !== null);
  }

  /** A connection of this tenant by id; null for unknown ids and other tenants' connections. */
  connection(connectionId: string): ConnectionHandle | null {
    const config = this.tenant.connections.find((c) => c.id === connectionId);
    return config ? this.handleFor(config) : null;
  }

  private handleFor(config: ConnectionConfig): ConnectionHandle | null {
    const existing = this.handles.get(config.id);
    if (existing) return existing;
    const connector = this.services.connectors.get(config.provider);
    if (!connector) return null; // rejected at startup; kept defensive
    const info = {
      id: config.id,
      tenantId: this.tenant.id,
      provider: config.provider,
      baseUrl: config.baseUrl ?? connector.manifest.defaultBaseUrl,
      settings: config.settings,
    };
    const log = this.services.log.child({ connector: connector.manifest.id, connectionId: config.id });
    const handle: ConnectionHandle = { config, connector, ctx: undefined as unknown as ConnectorContext };
    handle.ctx = {
      connection: info,
      signal: this.signal,
      log,
      fetch: this.renewingFetch(config, this.services.upstream.forScope({ manifest: connector.manifest, connection: info, signal: this.signal, deadline: this.deadline, rateLimit: config.rateLimit })),
      accessToken: () => this.services.credentials.accessToken(this.tenant.id, config),
      prime: (entity, model) => this.loaders.primeOne(handle, entity, model),
    };
    this.handles.set(config.id, handle);
    return handle;
  }

  /**
   * A 401 to a bearer token we handed out means the provider no longer takes it (revoked early,
   * clock skew): renew it once through the credential store and repeat the call with the new one.
   * A second 401 stands and becomes UPSTREAM_UNAUTHORIZED in the connector.
   */
  private renewingFetch(config: ConnectionConfig, fetch: UpstreamFetch): UpstreamFetch {
    return async (request) => {
      const res = await fetch(request);
      if (res.status !== 401) return res;
      const header = Object.entries(request.headers ?? {}).find(([k]) => k.toLowerCase() === 'authorization')?.[1];
      const rejected = header ? /^Bearer\s+(\S+)$/i.exec(header)?.[1] : undefined;
      if (!rejected) return res;
      const renewed = await this.services.credentials.afterUnauthorized(this.tenant.id, config, rejected);
      if (!renewed || renewed === rejected) return res;
      const headers = Object.fromEntries(Object.entries(request.headers ?? {}).map(([k, v]) => [k, k.toLowerCase() === 'authorization' ? `Bearer ${renewed}` : v]));
      return fetch({ ...request, headers });
    };
  }
}
