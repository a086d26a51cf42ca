// Per-request context: who is asking (tenant), what they may reach (their connections), the
// request's loaders, deadline and abort signal, and the partial errors collected along the way.
import { randomUUID } from 'node:crypto';
import { GraphQLError } from 'graphql';
import type { Logger } from 'pino';
import type { Connector } from '../connectors/sdk/types.ts';
import type { EntityType } from '../connectors/sdk/models.ts';
import type { ConnectorContexts } from './upstream/connector-context.ts';
import type { EntityCache } from './cache/entity-cache.ts';
import type { ResponseCache } from './cache/response-cache.ts';
import type { CredentialStore } from './accounts/credentials.ts';
import type { ConnectionStore } from './accounts/connections.ts';
import type { CredentialVault } from './accounts/vault.ts';
import type { ApiKeyStore } from './callers/api-keys.ts';
import type { AuthFailureLimiter } from './callers/auth-failures.ts';
import type { AuditLog } from './audit/log.ts';
import type { IdentityLinks } from './identity/links.ts';
import type { ConnectFlow } from './accounts/connect/flow.ts';
import type { Principal, Tenant, TenantDirectory } from './callers/tenants.ts';
import type { ConnectionConfig, GatewayConfig } from './config.ts';
import type { UpstreamClient } from './upstream/client.ts';
import type { Poller } from './events/poller.ts';
import type { EventPipeline } from './events/pipeline.ts';
import type { HealthStore } from './observability/health.ts';
import type { Metrics } from './observability/metrics.ts';
import type { Tracing } from './observability/tracing.ts';
import { RequestLoaders, type ConnectionHandle } from './loaders/request-loaders.ts';
import { Departures } from './upstream/departures.ts';

/** Long-lived services shared by every request of one gateway. */
export interface GatewayServices {
  config: GatewayConfig;
  directory: TenantDirectory;
  connectors: ReadonlyMap<string, Connector>;
  upstream: UpstreamClient;
  cache: EntityCache;
  /** Whole answers of record queries, evicted by change events (see response-cache.ts). */
  responseCache: ResponseCache;
  credentials: CredentialStore;
  /** Runtime-created connections and the status channel. */
  connections: ConnectionStore;
  /** Encrypted credentials of runtime-created connections. */
  vault: CredentialVault;
  /** Runtime-issued tenant API keys. */
  apiKeys: ApiKeyStore;
  /** Failed-authentication counts per client address and key prefix (429 past the limit). */
  authFailures: AuthFailureLimiter;
  /** Each tenant's append-only audit trail. */
  audit: AuditLog;
  /** Manual identity decisions (linkContacts / unlinkContacts), per tenant. */
  identity: IdentityLinks;
  /** Connecting provider accounts. */
  connect: ConnectFlow;
  log: Logger;
  /** Builds the context a connector is called with (requests, the event worker, the connect flow). */
  contexts: ConnectorContexts;
  events: EventPipeline;
  /** Per-connection health (upstream outcomes, webhook arrivals), shared by replicas on Redis. */
  health: HealthStore;
  metrics: Metrics;
  tracing: Tracing;
  /** The polling event source (leases, cursors, status per connection). */
  poller: Poller;
}

export class RequestContext {
  // Built on first use: a subscription's context lives as long as the subscription and never loads.
  private requestLoaders: RequestLoaders | null = null;
  /** Errors of one provider that do not void the whole answer (partial data). */
  readonly partialErrors: GraphQLError[] = [];
  /**
   * Set once the answer is known to be storable in the response cache: the entity types it holds.
   * A holder, not a field: Apollo executes on a shallow clone of the context, which shares it.
   */
  readonly responseCache: { entities: ReadonlySet<EntityType> | null } = { entities: null };
  /** Upstream calls this request made (counted by the upstream client, per attempt). */
  readonly usage = { upstreamCalls: 0 };
  private callsOut: Departures | null = null;
  private handles: Map<string, ConnectionHandle> | null = null;
  private unreadableNoted = false;
  private answeredNow!: () => void;
  /** Settles at markAnswered(); a context nobody marks (a socket's operations) holds its writes at most a second (entity-cache.ts). */
  private readonly answered = new Promise<void>((resolve) => (this.answeredNow = resolve));

  readonly tenant: Tenant;
  /** scheme://host[:port] the client reached the gateway at (connect links are built on it). */
  publicBase = 'http://localhost';
  /** Names this request in the audit log. */
  readonly requestId: string = randomUUID();

  /**
   * `signal` null: never aborted, built on first use (an AbortSignal is ~1 KB with its event
   * maps; a subscription's context lives as long as the subscription and rarely needs one).
   */
  constructor(
    readonly services: GatewayServices,
    readonly principal: Principal,
    private abortSignal: AbortSignal | null,
    readonly deadline: number,
  ) {
    this.tenant = principal.tenant;
  }

  get signal(): AbortSignal {
    return (this.abortSignal ??= new AbortController().signal);
  }

  get loaders(): RequestLoaders {
    return (this.requestLoaders ??= new RequestLoaders(this.tenant.id, this.services.cache, this.answered, this.departures));
  }

  /** This request's upstream calls on their way out (departures.ts). */
  get departures(): Departures {
    return (this.callsOut ??= new Departures());
  }

  /** The request's answer has been sent (or its client is gone): its held cache writes start. */
  markAnswered(): void {
    this.answeredNow();
  }

  get connect(): ConnectFlow {
    return this.services.connect;
  }

  get config(): GatewayConfig {
    return this.services.config;
  }

  get events(): EventPipeline {
    return this.services.events;
  }

  /** The tenant's connections, in configuration order. */
  connections(): ConnectionHandle[] {
    this.noteUnreadableConnections();
    return this.tenant.connections.map((c) => this.handleFor(c)).filter((h): h is ConnectionHandle => h !== null);
  }

  /** A connection of this tenant by id; null for unknown ids and other tenants' connections. */
  connection(connectionId: string): ConnectionHandle | null {
    const config = this.tenant.connections.find((c) => c.id === connectionId);
    if (!config) this.noteUnreadableConnections();
    return config ? this.handleFor(config) : null;
  }

  /**
   * An answer built without the tenant's runtime connections (their store did not answer in time)
   * says so once, as a partial error: an empty or shorter list must never pass for a complete one.
   */
  private noteUnreadableConnections(): void {
    if (!this.tenant.runtimeConnectionsUnreadable || this.unreadableNoted) return;
    this.unreadableNoted = true;
    const message =
      "the tenant's runtime connections could not be read in time (the gateway's store is slow or unreachable): this answer holds the tenants-file connections only; retry shortly";
    this.partialErrors.push(new GraphQLError(message, { extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true } }));
  }

  private handleFor(config: ConnectionConfig): ConnectionHandle | null {
    const existing = this.handles?.get(config.id);
    if (existing) return existing;
    let handle: ConnectionHandle | null = null;
    const built = this.services.contexts.forConnection(this.tenant.id, config, {
      signal: this.signal,
      deadline: this.deadline,
      usage: this.usage,
      departures: this.departures,
      prime: (entity, model) => handle && this.loaders.primeOne(handle, entity, model),
    });
    if (!built) return null;
    handle = { config, ...built };
    (this.handles ??= new Map()).set(config.id, handle);
    return handle;
  }
}
