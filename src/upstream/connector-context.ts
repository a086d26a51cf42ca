// The one factory of connector contexts. A connector is called from three places — a GraphQL
// request, the event worker refetching a thin webhook event, the connect flow probing a new
// credential — and each gets its context here, so none of them hand-builds one (or invents a
// principal to reach a connector). Everything a connector touches is injected: the upstream
// layer's fetch (budget, breaker, retries, credential placement and renewal), a logger, the
// caller's signal and deadline.
import type { Logger } from 'pino';
import type { Connector, ConnectorContext, ConnectionInfo } from '../../connectors/sdk/types.ts';
import type { CredentialStore } from '../accounts/credentials.ts';
import type { ConnectionConfig } from '../config.ts';
import type { UpstreamClient, UpstreamCredential } from './client.ts';
import type { Departures } from './departures.ts';

/** What one call (or one request's worth of calls) is bounded by. */
export interface CallBounds {
  signal: AbortSignal;
  /** Absolute time (ms since epoch) by which the caller must have its answer. */
  deadline: number;
  /** Where records that arrive embedded in a response go; default: nowhere (no request loaders). */
  prime?: ConnectorContext['prime'];
  /** Where the upstream calls made for this caller are counted (a GraphQL request's cost report). */
  usage?: { upstreamCalls: number };
  /** The caller's calls on their way out (a GraphQL request's); ConnectorContext.callsLeft waits for them. */
  departures?: Departures;
}

export interface ConnectorContextDeps {
  connectors: ReadonlyMap<string, Connector>;
  upstream: UpstreamClient;
  credentials: CredentialStore;
  log: Pick<Logger, 'child'>;
  /** The gateway runs in production (ConnectorContext.production). */
  production?: boolean;
}

const dropPrimed: ConnectorContext['prime'] = () => undefined;

export class ConnectorContexts {
  constructor(private readonly deps: ConnectorContextDeps) {}

  /** The connector of a configured connection (tenants file or runtime) and its context; null for an unknown provider. */
  forConnection(tenantId: string, config: ConnectionConfig, bounds: CallBounds): { connector: Connector; ctx: ConnectorContext } | null {
    const connector = this.deps.connectors.get(config.provider);
    if (!connector) return null; // rejected at startup; kept defensive
    const { credentials } = this.deps;
    const credential: UpstreamCredential = {
      token: () => credentials.accessToken(tenantId, config),
      renew: (rejected) => credentials.afterUnauthorized(tenantId, config, rejected),
    };
    const info: ConnectionInfo = {
      id: config.id,
      tenantId,
      provider: config.provider,
      baseUrl: config.baseUrl ?? connector.manifest.defaultBaseUrl,
      settings: config.settings,
    };
    return { connector, ctx: this.build(connector, info, credential, bounds, config.rateLimit, config.dailyAllocationShare) };
  }

  /** A context for a credential that is not stored yet (checked against the provider before it is). */
  forCredential(connector: Connector, info: ConnectionInfo, token: string, bounds: CallBounds): ConnectorContext {
    return this.build(connector, info, { token: async () => token, renew: async () => null }, bounds, undefined);
  }

  private build(
    connector: Connector,
    info: ConnectionInfo,
    credential: UpstreamCredential,
    bounds: CallBounds,
    rateLimit: ConnectionConfig['rateLimit'],
    dailyAllocationShare?: number,
  ): ConnectorContext {
    const { signal, deadline, usage, departures } = bounds;
    return {
      connection: info,
      signal,
      log: this.deps.log.child({ connector: connector.manifest.id, connectionId: info.id }),
      fetch: this.deps.upstream.forScope({
        manifest: connector.manifest,
        connection: info,
        signal,
        deadline,
        rateLimit,
        credential,
        usage,
        dailyAllocationShare,
        departures,
      }),
      accessToken: credential.token,
      production: this.deps.production === true,
      prime: bounds.prime ?? dropPrimed,
      ...(departures ? { callsLeft: () => departures.left() } : {}),
    };
  }
}
