// Builds every long-lived service of one gateway from its config, in dependency order, and closes
// them again. The services object is complete when it is handed out: nothing is filled in later.
import { batchWrites, createRedis, type RedisClient } from '../util/redis.ts';
import type { Logger } from 'pino';
import type { Connector } from '../../connectors/sdk/types.ts';
import { MemoryApiKeyStore, RedisApiKeyStore, type ApiKeyStore } from '../callers/api-keys.ts';
import { AuthFailureLimiter } from '../callers/auth-failures.ts';
import { MemoryAuditLog, RedisAuditLog, type AuditLog } from '../audit/log.ts';
import { MemoryIdentityLinks, RedisIdentityLinks, type IdentityLinks } from '../identity/links.ts';
import { ConnectFlow } from '../accounts/connect/flow.ts';
import { MemoryConnectionStore, RedisConnectionStore, recordStatus, type ConnectionStore } from '../accounts/connections.ts';
import { VaultCredentialStore, type CredentialStore } from '../accounts/credentials.ts';
import { ProviderApps } from '../accounts/provider-apps.ts';
import { TenantDirectory, guessableKeyProblems } from '../callers/tenants.ts';
import { TokenManager } from '../accounts/token-manager.ts';
import { CredentialVault, createVaultStore, type MasterKeyring } from '../accounts/vault.ts';
import { EntityCache } from '../cache/entity-cache.ts';
import { ResponseCache } from '../cache/response-cache.ts';
import { createKvStore, type KvStore } from '../cache/store.ts';
import { ConfigError, type GatewayConfig } from '../config.ts';
import { ConnectorContexts } from '../upstream/connector-context.ts';
import type { GatewayServices } from '../context.ts';
import { EventPipeline } from '../events/pipeline.ts';
import { roleProblems, runs } from './roles.ts';
import { Poller } from '../events/poller.ts';
import { localBudgets, sharedBudgets } from '../upstream/rate-budget.ts';
import { UpstreamClient } from '../upstream/client.ts';
import { MemoryHealthStore, RedisHealthStore, type HealthStore } from '../observability/health.ts';
import type { Metrics } from '../observability/metrics.ts';
import { TRACING_OFF, type Tracing } from '../observability/tracing.ts';

export interface BuiltServices {
  services: GatewayServices;
  /** The cache's key-value store (the readiness probe pings it). */
  kv: KvStore;
  /** The shared Redis client (null without REDIS_URL): per-tenant admission counts there. */
  redis: RedisClient | null;
  close(): Promise<void>;
}

export interface ServiceOptions {
  connectors: ReadonlyMap<string, Connector>;
  /** The operator's provider registrations, already checked by checkStartup. */
  apps: ProviderApps;
  credentials?: CredentialStore | undefined;
  keyring: MasterKeyring;
  log: Logger;
  metrics: Metrics;
  /** Default: off. */
  tracing?: Tracing;
}

/**
 * Refuses a config that cannot work (unknown providers, missing variables, insecure OAuth in
 * production), naming every problem; answers the provider registrations the services use.
 */
export function checkStartup(config: GatewayConfig, connectors: ReadonlyMap<string, Connector>, env: NodeJS.ProcessEnv): ProviderApps {
  const apps = new ProviderApps(config, connectors);
  const problems: string[] = [...apps.problems()];
  if (config.mode === 'production') problems.push(...guessableKeyProblems(config.tenants));
  if (config.allowInsecureOAuth && config.mode === 'production')
    problems.push('allowInsecureOAuth (http:// OAuth endpoints) is for emulators and tests; it is refused in production');
  const oauthProviders = Object.entries(config.providers).filter(([, r]) => r.oauth && !r.oauth.redirectUri);
  if (config.mode === 'production' && oauthProviders.length && !config.publicUrl) {
    // Connect links and redirect URIs would otherwise be built from the request's Host header.
    problems.push(
      `SWITCHBOARD_PUBLIC_URL must be set in production when OAuth apps are registered (providers: ${oauthProviders.map(([id]) => id).join(', ')})`,
    );
  }
  for (const t of config.tenants) {
    for (const c of t.connections) {
      if (!connectors.has(c.provider))
        problems.push(`tenant ${t.id}, connection ${c.id}: unknown provider "${c.provider}" (known: ${[...connectors.keys()].join(', ')})`);
      if (c.credentials.type === 'env' && !env[c.credentials.variable])
        problems.push(`tenant ${t.id}, connection ${c.id}: environment variable ${c.credentials.variable} is not set`);
      // Unset or empty: every webhook for the connection would answer 500, so refuse now.
      if (c.webhookSecret?.type === 'env' && !env[c.webhookSecret.variable])
        problems.push(`tenant ${t.id}, connection ${c.id}: webhookSecret: environment variable ${c.webhookSecret.variable} is not set (or empty)`);
    }
  }
  problems.push(...roleProblems(config.roles, config.redisUrl));
  if (problems.length) throw new ConfigError(`configuration is invalid:\n  ${problems.join('\n  ')}`);
  return apps;
}

export async function buildServices(config: GatewayConfig, options: ServiceOptions): Promise<BuiltServices> {
  const { connectors, apps, log, metrics, keyring } = options;
  const tracing = options.tracing ?? TRACING_OFF;
  const { limits } = config;
  const kv = await createKvStore({
    redisUrl: config.redisUrl,
    namespace: `${config.keyPrefix}:cache`,
    onError: (err) => log.warn({ err: String(err) }, 'cache store error (answers fall back to the providers)'),
  });
  const cache = new EntityCache(kv.keyv, metrics, {
    ttlSeconds: config.cacheTtlSeconds,
    opTimeoutMs: limits.cacheOpTimeoutMs,
    onError: (err, op) => log.debug({ op, err: String(err) }, 'cache operation failed; treated as a miss'),
  });
  const ttl = config.cacheTtlSeconds;
  const responseCache = new ResponseCache(cache, metrics, {
    // An answer must not outlive the records and list pages it was built from.
    ttlSeconds: Math.min(limits.responseCacheTtlSeconds, ttl.Contact, ttl.Invoice, ttl.Order, ttl.listPage),
    maxBytes: limits.responseCacheMaxBytes,
    maxEntryBytes: limits.responseCacheMaxEntryBytes,
  });
  const onRedisError = (what: string) => (err: unknown) => log.warn({ err: String(err) }, `${what}: Redis error`);
  const connections: ConnectionStore = config.redisUrl
    ? new RedisConnectionStore(config.redisUrl, `${config.keyPrefix}:conn`, onRedisError('connection store'))
    : new MemoryConnectionStore();
  // Token-refresh locks, rate budgets and API-key lookups: short commands on one plain connection.
  const sharedRedis = config.redisUrl ? createRedis(config.redisUrl, { maxRetriesPerRequest: 2, connectTimeout: limits.redisConnectTimeoutMs }) : null;
  sharedRedis?.on('error', onRedisError('token locks / rate budgets / API keys'));
  if (sharedRedis) batchWrites(sharedRedis);
  const apiKeys: ApiKeyStore = sharedRedis ? new RedisApiKeyStore(sharedRedis, config.keyPrefix) : new MemoryApiKeyStore();
  const vaultStore = await createVaultStore({ redisUrl: config.redisUrl, namespace: `${config.keyPrefix}:vault`, onError: onRedisError('vault') });
  const vault = new CredentialVault({ keyv: vaultStore.keyv, keyring });
  const directory = new TenantDirectory(config.tenants, connections, config.providers, limits.cacheOpTimeoutMs, (err) =>
    log.warn({ err: String(err) }, 'runtime connections unavailable (Redis); serving tenants-file connections only'),
  );
  const audit: AuditLog = sharedRedis
    ? new RedisAuditLog(sharedRedis, config.keyPrefix, () => config.limits.auditRetentionDays)
    : new MemoryAuditLog(() => config.limits.auditRetentionDays);
  const identity: IdentityLinks = sharedRedis ? new RedisIdentityLinks(sharedRedis, config.keyPrefix) : new MemoryIdentityLinks();
  const tokens = new TokenManager({
    vault,
    redis: sharedRedis,
    keyPrefix: `${config.keyPrefix}:token`,
    onStatusChange: async (change) => {
      await recordStatus(connections, change.tenantId, change.connectionId, change.status, change.reason);
      log.warn({ tenantId: change.tenantId, connectionId: change.connectionId, status: change.status }, 'connection status changed');
      await audit
        .record({
          tenantId: change.tenantId,
          action: 'connection.status',
          actor: 'system',
          outcome: 'success',
          target: change.connectionId,
          detail: { status: change.status, reason: change.reason },
        })
        .catch((err: unknown) => log.warn({ err: String(err) }, 'audit log unavailable'));
    },
    onRefreshed: async (_tenantId, _slot, at, connectionIds) => {
      metrics.tokenRefreshes.inc({ result: 'success' });
      for (const id of connectionIds) await connections.update(id, { lastRefreshedAt: new Date(at).toISOString() });
    },
    onRefreshFailed: (kind) => metrics.tokenRefreshes.inc({ result: kind }),
  });
  const health: HealthStore = sharedRedis
    ? new RedisHealthStore(sharedRedis, `${config.keyPrefix}:health`, limits.cacheOpTimeoutMs, (err) =>
        log.debug({ err: String(err) }, 'health record not written'),
      )
    : new MemoryHealthStore();
  const upstream = new UpstreamClient(
    metrics,
    {
      attemptTimeoutMs: limits.upstreamAttemptTimeoutMs,
      maxAttempts: limits.upstreamMaxAttempts,
      baseDelayMs: limits.upstreamBaseDelayMs,
      maxDelayMs: limits.upstreamMaxDelayMs,
      breakerThreshold: limits.breakerThreshold,
      breakerHalfOpenAfterMs: limits.breakerHalfOpenAfterMs,
      maxBodyBytes: limits.upstreamMaxBodyBytes,
    },
    undefined,
    // With Redis, a connection's allowance is shared by every replica; without, per process.
    sharedRedis ? sharedBudgets(sharedRedis, config.keyPrefix, limits.cacheOpTimeoutMs) : localBudgets,
    { outcome: (connection, _connector, outcome) => health.recordOutcome(connection.tenantId, connection.id, outcome), tracing },
  );
  const credentials = options.credentials ?? new VaultCredentialStore({ vault, tokens, apps, connections });
  const contexts = new ConnectorContexts({ connectors, upstream, credentials, log, production: config.mode === 'production' });
  const events = new EventPipeline({ config, directory, contexts, connectors, cache, log, metrics, tracing, audit, identity, upstream });
  // Polled connections (providers without webhooks, or switched): one leader per connection across replicas.
  const poller = new Poller({
    config,
    connectors,
    contexts,
    queue: events.queue,
    redis: sharedRedis,
    log,
    registry: metrics.registry,
    runtime: { directory, connections },
  });
  const connect = new ConnectFlow({ config, connectors, apps, connections, vault, tokens, directory, contexts, audit, log });
  const authFailures = new AuthFailureLimiter(
    sharedRedis,
    config.keyPrefix,
    () => ({ limit: config.limits.authFailureLimit, windowSeconds: config.limits.authFailureWindowSeconds, opTimeoutMs: limits.cacheOpTimeoutMs }),
    metrics.registry,
    log,
  );
  const services: GatewayServices = {
    config,
    directory,
    connectors,
    upstream,
    cache,
    responseCache,
    credentials,
    connections,
    vault,
    apiKeys,
    authFailures,
    audit,
    identity,
    connect,
    log,
    contexts,
    events,
    health,
    metrics,
    tracing,
    poller,
  };
  events.start({ workers: runs(config.roles, 'workers'), tail: runs(config.roles, 'subscriptions') });
  if (runs(config.roles, 'pollers')) poller.start();
  if (!events.queue.durable) log.warn('no REDIS_URL: webhook events are queued in memory and are NOT durable (lost if the process stops)');
  return {
    services,
    kv,
    redis: sharedRedis,
    async close() {
      await poller.close();
      await events.close();
      await cache.settled();
      await kv.close();
      await Promise.allSettled([upstream.close(), connections.close(), apiKeys.close(), vaultStore.close(), sharedRedis?.quit()]);
    },
  };
}
