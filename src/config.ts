// Configuration: environment variables plus a tenants file, validated at startup. Every limit is a
// named constant here with its default; docs/configuration.md lists them.
import { parseTrustedProxies, type TrustedProxies } from './inbound/client-address.ts';
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { JwtSettings } from './callers/jwt.ts';
import { ROLES, unknownRoles, type Role } from './gateway/roles.ts';

/**
 * Every limit and timeout of the gateway, with its one default. docs/configuration.md lists them
 * (src/config.test.ts fails when it misses one); environment variables override a few.
 */
export const DEFAULT_LIMITS = {
  /** Largest `first` a connection field accepts (BAD_USER_INPUT above it). */
  maxPageSize: 100,
  /** `first` when the client gives none. */
  defaultPageSize: 20,
  /** Most records of one connection the gateway sorts itself when the connection cannot serve a list's `orderBy` (ORDER_NOT_SUPPORTED above it). */
  listSortFallbackMax: 500,
  /** Most ids `nodes(ids:)` accepts in one call. */
  maxNodesIds: 500,
  /** Deepest selection set a document may have (introspection exempt). */
  maxQueryDepth: 12,
  /** Largest HTTP request body for /graphql, and largest WebSocket message. */
  maxBodyBytes: 1024 * 1024,
  /** Largest webhook body a provider may POST. */
  webhookMaxBodyBytes: 1024 * 1024,
  /** Largest connect-flow confirmation form. */
  connectFormMaxBytes: 4096,
  /** Time budget of one GraphQL request, upstream retries included. */
  requestDeadlineMs: 10_000,
  /** Time budget of the event worker's refetch of a thin webhook event (no client waits, but it must end). */
  refetchDeadlineMs: 30_000,
  /** Longest single upstream attempt. */
  upstreamAttemptTimeoutMs: 5_000,
  /** Upstream attempts for idempotent reads (1 = no retry). */
  upstreamMaxAttempts: 3,
  /** First retry delay upstream; grows exponentially with full jitter up to upstreamMaxDelayMs. */
  upstreamBaseDelayMs: 100,
  upstreamMaxDelayMs: 2_000,
  /** Consecutive upstream failures (transport, timeout, 5xx) that open a connection's circuit. */
  breakerThreshold: 5,
  /** How long an open circuit rejects before one probe goes through. */
  breakerHalfOpenAfterMs: 10_000,
  /** Longest a cache or store operation may take before it counts as a miss or an outage (Redis slow or down). */
  cacheOpTimeoutMs: 250,
  /** Longest a runtime API-key lookup may take before the request is answered SERVICE_UNAVAILABLE. */
  apiKeyCheckTimeoutMs: 2_000,
  /** How long /readyz waits for Redis to answer a ping. */
  readinessPingTimeoutMs: 1_000,
  /** How long a new Redis connection may take to open. */
  redisConnectTimeoutMs: 2_000,
  /** How often an open subscription socket's API key or JWT is checked again (revoked/expired → closed). */
  credentialRecheckMs: 30_000,
  /** graphql-ws keep-alive: every socket is pinged this often; one that has not answered the previous ping is terminated. */
  socketKeepAliveMs: 12_000,
  /** A graphql-ws socket that sends no connection_init within this is closed (4408, graphql-ws's own default). */
  socketInitTimeoutMs: 3_000,
  /** A graphql-ws socket with more unsent bytes than this is too far behind: its subscriptions end ("too slow"; the client resumes with `after`). */
  socketMaxBufferedBytes: 8 * 1024 * 1024,
  /**
   * Longest a whole GraphQL answer is served from the response cache (0 disables it). Change events
   * evict earlier; never longer than the shortest record or list-page TTL.
   */
  responseCacheTtlSeconds: 30,
  /** In-process bound of the response cache (sum of stored answer sizes, per replica). */
  responseCacheMaxBytes: 64 * 1024 * 1024,
  /** Answers larger than this are not stored. */
  responseCacheMaxEntryBytes: 2 * 1024 * 1024,
  /** On SIGTERM/SIGINT, how long in-flight HTTP requests may take to finish before their connections are closed. */
  shutdownDrainMs: 15_000,
  /** On SIGTERM/SIGINT, how long an event job in progress may take to finish before it is handed back to the queue. */
  shutdownJobGraceMs: 1_000,
  /** At startup with REDIS_URL, how long to wait for Redis to answer before refusing to start. */
  redisStartupTimeoutMs: 10_000,
  /** Longest query text, in characters, checked before parsing (graphql-armor character-limit). */
  maxQueryChars: 20_000,
  /** Most lexical tokens a document may have; parsing stops at the first one past it (graphql-armor max-tokens). */
  maxTokens: 2_000,
  /** Most aliased fields in one operation, fragments included (graphql-armor max-aliases). */
  maxAliases: 30,
  /** Most directives in one operation (graphql-armor max-directives). */
  maxDirectives: 50,
  /** Most upstream calls a document is estimated to cause before it runs (QUERY_TOO_COSTLY above it). */
  maxUpstreamCalls: 200,
  /** GraphQL requests per second one tenant may send, shared by every replica (429 above it). */
  tenantRequestsPerSecond: 50,
  /** Burst a tenant may send above its rate, within one second. */
  tenantRequestBurst: 100,
  /** GraphQL requests one tenant may have in progress at once, across replicas (429 above it). */
  tenantConcurrency: 20,
  /**
   * A refused request (429) is answered after this long, at most its Retry-After: a client that
   * asks again at once then waits on its own connection instead of turning refusals into a flood
   * of work for the gateway. 0 answers at once.
   */
  refusalHoldMs: 1_000,
  /** node:http server.requestTimeout: the whole request (headers and body) must arrive within it. */
  serverRequestTimeoutMs: 30_000,
  /** node:http server.headersTimeout: the request headers must arrive within it. */
  serverHeadersTimeoutMs: 10_000,
  /** node:http server.keepAliveTimeout: an idle keep-alive connection is closed after it. */
  serverKeepAliveTimeoutMs: 5_000,
  /** Most operations (subscriptions) one graphql-ws socket may run at once. */
  maxSubscriptionsPerSocket: 20,
  /** Most graphql-ws sockets one tenant may hold open on one replica. */
  maxSocketsPerTenant: 50,
  /** Longest piece of client input echoed in an error message (longer is cut, with an ellipsis). */
  errorEchoMaxChars: 100,
  /** Lifetime of an API key created through the API (createApiKey) when the caller names none: 90 days. */
  apiKeyDefaultTtlSeconds: 90 * 24 * 3600,
  /** Longest lifetime createApiKey grants: 365 days (a longer request is refused). */
  apiKeyMaxTtlSeconds: 365 * 24 * 3600,
  /** Longest lifetime (exp − iat) of an accepted JWT: 24 h. A JWT without `exp` is refused. */
  jwtMaxLifetimeSeconds: 24 * 3600,
  /** Failed authentications per client address (and per key prefix) within authFailureWindowSeconds before 429. */
  authFailureLimit: 20,
  /** The window of authFailureLimit, and the longest Retry-After it answers. */
  authFailureWindowSeconds: 60,
  /** Largest provider response body read (a bigger one is UPSTREAM_BAD_RESPONSE, not held in memory): 16 MiB. */
  upstreamMaxBodyBytes: 16 * 1024 * 1024,
  /** Days an audit-log entry is kept (the tenant's stream is trimmed by age on every append). */
  auditRetentionDays: 90,
} as const;

export type GatewayLimits = { -readonly [K in keyof typeof DEFAULT_LIMITS]: number };

/** How long a connect link stays valid (it is also single-use). */
export const DEFAULT_CONNECT_SESSION_TTL_SECONDS = 600;

export const DEFAULT_EVENT_SETTINGS = {
  workerConcurrency: 20,
  /**
   * Attempts 1 s, 2 s, … 64 s apart (±50 %): 64–190 s in all, so a provider's short outage, and
   * the upstream breaker's open spells (breakerHalfOpenAfterMs) within it, do not use them all up.
   * (5 from 500 ms were over in ~8 s: inside one open spell.)
   */
  maxAttempts: 8,
  retryBaseDelayMs: 1_000,
  /** 7 days: longer than any provider's retry horizon (Stripe: 3 days, HubSpot: 24 h). */
  dedupeTtlSeconds: 7 * 24 * 3600,
  retainedChanges: 100_000,
} as const;

/** Seconds a cached record stays fresh, per entity; list pages live shorter (membership changes). */
export const DEFAULT_CACHE_TTL_SECONDS = { Contact: 300, Invoice: 300, Order: 300, listPage: 60 } as const;

/**
 * Where /metrics is served and what it requires (docs/configuration.md, "Metrics"). From the
 * environment: METRICS_PORT set → its own listener on METRICS_HOST (default 127.0.0.1); else
 * METRICS_TOKEN set → the main port, with that bearer token; neither → not served (404). A fixed
 * default port was not chosen: several replicas on one host (tests, the no-Docker topology) would
 * collide on it. The programmatic default (no `metrics` in the config: tests, benchmarks) is open
 * on the main port.
 */
export interface MetricsExposure {
  /** Not served at all. */
  disabled: boolean;
  /** Bearer token /metrics requires (compared in constant time); null: none. */
  token: string | null;
  /** A separate listener for /metrics (then the main port does not serve it); null: the main port. 0: any free port. */
  port: number | null;
  /** Address the separate listener binds to. */
  host: string;
}

/** Tenant and connection ids: they appear in Redis keys, URLs and global ids. */
export const ID_PATTERN = /^[A-Za-z0-9_-]{1,64}$/;

// Discriminated by `type`: a wrong shape is reported field by field ("webhookSecret.token: … received
// undefined", "webhookSecret.value: unknown key"), where a plain union said only "Invalid input".
const credentialSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('static'), token: z.string().min(1) }),
  z.strictObject({ type: z.literal('env'), variable: z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'an environment variable name') }),
]);

/** Changes by polling (connections, and the operator's default for runtime-created ones). */
const pollingSchema = z.strictObject({
  enabled: z.boolean().optional(),
  intervalMs: z.number().int().min(200).optional(),
  /** Fraction (0, 1] of each of the connection's rate windows its polls may use on average (default 0.5). */
  budgetShare: z.number().gt(0).max(1).optional(),
});

const connectionSchema = z.strictObject({
  id: z.string().regex(ID_PATTERN, 'letters, digits, - and _ (1-64 chars)'),
  provider: z.string().min(1),
  /** The real API, a sandbox, or an emulator. Defaults to the connector's real base URL. */
  baseUrl: z.url().optional(),
  credentials: credentialSchema,
  settings: z.record(z.string(), z.unknown()).default({}),
  /**
   * The secret the provider signs webhooks with (HubSpot app client secret, Stripe whsec_…).
   * Without it, POST /webhooks/<provider>/<connection id> answers 404.
   */
  webhookSecret: credentialSchema.optional(),
  /** Overrides the connector's documented request allowance (e.g. Stripe test keys: 25/s). */
  rateLimit: z.strictObject({ requests: z.number().int().positive(), windowMs: z.number().int().positive() }).optional(),
  /**
   * Fraction (0, 1] of the provider account's header-reported daily allocation (Salesforce) this
   * connection lets the usage reach before it stops calling; default the connector's, else 0.8.
   */
  dailyAllocationShare: z.number().gt(0).max(1).optional(),
  /**
   * Changes by polling: `enabled` switches a webhook connector's connection to polling (providers
   * whose events.source is "polling" always poll); `intervalMs` between polls (default 60 s, jittered);
   * `budgetShare` of each rate window the polls may use on average (default 0.5: the next poll waits
   * longer when the last one made many calls).
   */
  polling: pollingSchema.optional(),
});

export const API_KEY_SCOPES = ['read', 'subscribe', 'admin', 'schema'] as const;

/** The limits a tenant may have of its own (tenants file `limits`), over the gateway's defaults. */
export const TENANT_LIMIT_KEYS = [
  'maxQueryChars',
  'maxTokens',
  'maxAliases',
  'maxDirectives',
  'maxUpstreamCalls',
  'tenantRequestsPerSecond',
  'tenantRequestBurst',
  'tenantConcurrency',
  'maxSubscriptionsPerSocket',
  'maxSocketsPerTenant',
] as const satisfies ReadonlyArray<keyof typeof DEFAULT_LIMITS>;
export type TenantLimitKey = (typeof TENANT_LIMIT_KEYS)[number];
const tenantLimitsSchema = z
  .object(Object.fromEntries(TENANT_LIMIT_KEYS.map((k) => [k, z.number().int().positive().optional()])) as Record<TenantLimitKey, z.ZodOptional<z.ZodNumber>>)
  .strict();
export type ApiKeyScope = (typeof API_KEY_SCOPES)[number];

const tenantSchema = z.strictObject({
  id: z.string().regex(ID_PATTERN, 'letters, digits, - and _ (1-64 chars)'),
  name: z.string().optional(),
  /**
   * SHA-256 (hex) of each API key the tenant may use; keys themselves are never stored. Scopes
   * default to all three. More keys can be issued at runtime (`npm run keys`, createApiKey).
   */
  apiKeys: z
    .array(
      z.strictObject({
        id: z.string().min(1),
        sha256: z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex chars'),
        /** Default: all three. */
        scopes: z.array(z.enum(API_KEY_SCOPES)).min(1).optional(),
      }),
    )
    .default([]),
  connections: z.array(connectionSchema).default([]),
  /**
   * Where the browser may be sent after a connect flow (exact URLs, or prefixes ending in "/").
   * A connect session asking for any other return URL is refused.
   */
  connectReturnUrls: z.array(z.url()).optional(),
  /** This tenant's own limits (request rate, concurrency, query cost and size), over DEFAULT_LIMITS. */
  limits: tenantLimitsSchema.optional(),
  /**
   * Connectors this tenant may connect with the operator's own OAuth app through the
   * client-credentials grant (no account owner consents to it), each with the scopes it may
   * request. Absent: the grant is refused for this tenant.
   */
  clientCredentials: z.record(z.string(), z.object({ scopes: z.array(z.string().min(1)).min(1) })).optional(),
});

/**
 * The operator's registration with a provider, used for connections tenants create at runtime:
 * the OAuth app (client id/secret), optional endpoint overrides (sandbox, emulator) and the
 * signing secret of the app's webhooks.
 */
const providerSchema = z.strictObject({
  /** API base URL for runtime-created connections (default: the connector's real one). */
  baseUrl: z.url().optional(),
  oauth: z
    .object({
      clientId: z.string().min(1),
      clientSecret: credentialSchema,
      /** Scopes to request instead of the connector's defaults. */
      scopes: z.array(z.string().min(1)).optional(),
      authorizationUrl: z.url().optional(),
      tokenUrl: z.url().optional(),
      revocationUrl: z.url().optional(),
      /** The callback registered with the provider; default <public URL>/connect/<provider>/callback. */
      redirectUri: z.url().optional(),
    })
    .optional(),
  /** Signing secret for webhooks addressed to runtime-created connections (HubSpot: the app's client secret). */
  webhookSecret: credentialSchema.optional(),
  /** Request allowance of each runtime-created connection, instead of the connector's documented one. */
  rateLimit: z.strictObject({ requests: z.number().int().positive(), windowMs: z.number().int().positive() }).optional(),
  /** Polling of each runtime-created connection, as a connection's `polling` (interval; `enabled` switches a webhook provider's to polling). */
  polling: pollingSchema.optional(),
});

export const tenantsFileSchema = z
  .strictObject({ tenants: z.array(tenantSchema).min(1), providers: z.record(z.string(), providerSchema).default({}) })
  .superRefine((file, ctx) => {
    const seenConn = new Map<string, string>();
    const seenTenant = new Set<string>();
    const seenKey = new Set<string>();
    file.tenants.forEach((t, ti) => {
      if (seenTenant.has(t.id)) ctx.addIssue({ code: 'custom', path: ['tenants', ti, 'id'], message: `duplicate tenant id "${t.id}"` });
      seenTenant.add(t.id);
      t.apiKeys.forEach((k, ki) => {
        if (seenKey.has(k.sha256)) ctx.addIssue({ code: 'custom', path: ['tenants', ti, 'apiKeys', ki], message: 'the same API key is listed twice' });
        seenKey.add(k.sha256);
      });
      t.connections.forEach((c, ci) => {
        const owner = seenConn.get(c.id);
        if (owner)
          ctx.addIssue({
            code: 'custom',
            path: ['tenants', ti, 'connections', ci, 'id'],
            message: `connection id "${c.id}" is already used by tenant "${owner}" (ids are global)`,
          });
        seenConn.set(c.id, t.id);
      });
    });
  });

export type TenantsFile = z.infer<typeof tenantsFileSchema>;
export type TenantConfig = TenantsFile['tenants'][number];
export type ProviderRegistration = z.infer<typeof providerSchema>;
export type FileCredential = z.infer<typeof credentialSchema>;
/** A connection: from the tenants file, or created at runtime with its secret in the vault. */
export type ConnectionConfig = Omit<TenantConfig['connections'][number], 'credentials'> & {
  credentials: FileCredential | { type: 'vault' };
};

export interface GatewayConfig {
  port: number;
  host: string;
  /** 'production' masks unexpected errors; 'development' shows them. */
  mode: 'production' | 'development' | 'test';
  /** Unset: in-memory cache (embedded default). */
  redisUrl: string | null;
  /** Prefix of every Redis key this gateway writes (tests use one per run). */
  keyPrefix: string;
  tenants: TenantConfig[];
  /** Provider registrations for runtime-created connections (OAuth apps), by connector id. */
  providers: Record<string, ProviderRegistration>;
  /** Lifetime of a connect session (the link a tenant opens to connect an account). */
  connectSessionTtlSeconds: number;
  /** Allow http:// OAuth endpoints (emulators and test servers on loopback); never in production. */
  allowInsecureOAuth: boolean;
  cacheTtlSeconds: { Contact: number; Invoice: number; Order: number; listPage: number };
  /** Every limit and timeout (DEFAULT_LIMITS documents each). */
  limits: GatewayLimits;
  logLevel: string;
  /** Preset in the local landing page and GraphiQL (demo only). */
  demoApiKey?: string | undefined;
  /**
   * The gateway's public base URL (scheme://host[:port]) as providers call it. HubSpot signs the
   * full URL, so behind a proxy this must be what the provider used. Default: from the Host header.
   */
  publicUrl?: string | undefined;
  /** JWT bearer tokens accepted besides API keys (unset: API keys only). */
  jwt?: JwtSettings | undefined;
  /** Where /metrics is served and whether it needs a token; default: open on the main port (see MetricsExposure). */
  metrics?: MetricsExposure | undefined;
  /** OTLP/HTTP endpoint traces are exported to; unset: tracing off (the SDK is not even loaded). */
  otlpTracesEndpoint?: string | undefined;
  /** Whose X-Forwarded-For gives the client address (limits, logs); unset: none, the TCP peer is the client. */
  trustedProxies?: TrustedProxies | undefined;
  /**
   * Who may introspect the schema and see field suggestions: 'scoped' (credentials with the
   * `schema` or `admin` scope; the default) or 'everyone' (the demo). /graphiql is served only
   * when `graphiql` is true (the demo).
   */
  schemaExploration?: 'scoped' | 'everyone' | undefined;
  graphiql?: boolean | undefined;
  /** What this process runs (SWITCHBOARD_ROLES, src/gateway/roles.ts); unset: every role. */
  roles?: ReadonlySet<Role> | undefined;
  events: {
    /** Worker concurrency per replica. */
    workerConcurrency: number;
    /** Processing attempts before an event goes to the dead-letter store. */
    maxAttempts: number;
    /** First retry delay; doubles each attempt, with jitter. */
    retryBaseDelayMs: number;
    /** How long a provider event id is remembered for deduplication. */
    dedupeTtlSeconds: number;
    /** Change events kept for resuming subscriptions (approximate, newest kept), per change-log shard. */
    retainedChanges: number;
    /** Streams the change log is split into, by tenant (default 1; docs/deployment.md, "Redis Cluster"). */
    changeLogShards?: number;
    /** Intake streams webhooks are written to, by connection (default 4; docs/deployment.md, "Redis Cluster"). */
    intakeShards?: number;
    /** How long after receipt a rate-limited change, or one waiting out an outage, is still put off without using an attempt (default one day). */
    deferMaxAgeMs?: number;
  };
}

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** Parses a tenants file's JSON text; throws ConfigError naming every problem with its path. */
export function parseTenantsFile(text: string, source: string): TenantsFile {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new ConfigError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  const parsed = tenantsFileSchema.safeParse(json);
  if (!parsed.success) {
    const lines = parsed.error.issues.flatMap((i) =>
      // Every object of the file is strict: a misspelt key is named with its full path, not ignored.
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => `  ${[...i.path, k].join('.')}: unknown key (misspelt, or not a setting here)`)
        : [`  ${i.path.join('.') || '(root)'}: ${i.message}`],
    );
    throw new ConfigError(`${source} is invalid:\n${lines.join('\n')}`);
  }
  return parsed.data;
}

export function loadTenantsFile(path: string): TenantsFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read tenants file ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  return parseTenantsFile(text, path);
}

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(4000),
  HOST: z.string().default('127.0.0.1'),
  NODE_ENV: z.enum(['production', 'development', 'test']).default('development'),
  REDIS_URL: z
    .string()
    .regex(/^rediss?(\+cluster)?:\/\//, 'a redis://, rediss:// or redis+cluster://host:port,host:port URL')
    .optional(),
  SWITCHBOARD_KEY_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9:_-]{1,64}$/)
    .default('sb'),
  SWITCHBOARD_CONFIG: z.string().optional(),
  SWITCHBOARD_DEMO_API_KEY: z.string().min(16, 'at least 16 characters').optional(),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  REQUEST_DEADLINE_MS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.requestDeadlineMs),
  UPSTREAM_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.upstreamAttemptTimeoutMs),
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(DEFAULT_LIMITS.shutdownDrainMs),
  REDIS_STARTUP_TIMEOUT_MS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.redisStartupTimeoutMs),
  CACHE_TTL_SECONDS: z.coerce.number().int().min(0).optional(),
  SWITCHBOARD_PUBLIC_URL: z.url().optional(),
  SWITCHBOARD_JWT_ISSUER: z.string().min(1).optional(),
  SWITCHBOARD_JWT_AUDIENCE: z.string().min(1).optional(),
  SWITCHBOARD_JWT_JWKS_URL: z.url().optional(),
  SWITCHBOARD_JWT_TENANT_CLAIM: z.string().min(1).default('tenant'),
  METRICS_TOKEN: z.string().min(16, 'at least 16 characters').optional(),
  METRICS_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  METRICS_HOST: z.string().min(1).default('127.0.0.1'),
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url().optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url().optional(),
  /** Serve the offline GraphiQL page at /graphiql outside the demo. */
  SWITCHBOARD_GRAPHIQL: z.enum(['true', 'false']).default('false'),
  SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.jwtMaxLifetimeSeconds),
  SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.apiKeyDefaultTtlSeconds),
  SWITCHBOARD_API_KEY_MAX_TTL_SECONDS: z.coerce.number().int().positive().default(DEFAULT_LIMITS.apiKeyMaxTtlSeconds),
  /** Comma-separated roles of this process (src/gateway/roles.ts); unset: all. */
  SWITCHBOARD_ROLES: z.string().optional(),
  /** Proxies whose X-Forwarded-For is believed: CIDR/address list or a hop count (src/inbound/client-address.ts). */
  TRUSTED_PROXIES: z
    .string()
    .optional()
    .transform((v, ctx) => {
      try {
        return parseTrustedProxies(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
        return z.NEVER;
      }
    }),
  SWITCHBOARD_CHANGE_LOG_SHARDS: z.coerce.number().int().min(1).max(1024).default(1),
  SWITCHBOARD_INTAKE_SHARDS: z.coerce.number().int().min(1).max(1024).default(4),
});
export type Env = z.infer<typeof envSchema>;

export function parseEnv(env: NodeJS.ProcessEnv): Env {
  const parsed = envSchema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`environment is invalid:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  const jwtVars = [e.SWITCHBOARD_JWT_ISSUER, e.SWITCHBOARD_JWT_AUDIENCE, e.SWITCHBOARD_JWT_JWKS_URL];
  if (jwtVars.some(Boolean) && !jwtVars.every(Boolean)) {
    throw new ConfigError('environment is invalid:\n  SWITCHBOARD_JWT_ISSUER, SWITCHBOARD_JWT_AUDIENCE and SWITCHBOARD_JWT_JWKS_URL must be set together');
  }
  // Keys fetched over plain http could be swapped in transit, and every token with them.
  if (e.NODE_ENV === 'production' && e.SWITCHBOARD_JWT_JWKS_URL && !e.SWITCHBOARD_JWT_JWKS_URL.startsWith('https:')) {
    throw new ConfigError('environment is invalid:\n  SWITCHBOARD_JWT_JWKS_URL must be an https:// URL in production');
  }
  const unknownRole = unknownRoles(e.SWITCHBOARD_ROLES);
  if (unknownRole.length)
    throw new ConfigError(
      `environment is invalid:\n  SWITCHBOARD_ROLES: unknown role ${unknownRole.map((r) => `"${r}"`).join(', ')} (known: ${ROLES.join(', ')})`,
    );
  if (e.SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS > e.SWITCHBOARD_API_KEY_MAX_TTL_SECONDS) {
    throw new ConfigError('environment is invalid:\n  SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS must not exceed SWITCHBOARD_API_KEY_MAX_TTL_SECONDS');
  }
  return e;
}

/** JWT settings from the environment, or undefined when JWTs are not enabled. */
export function jwtSettingsFromEnv(e: Env): JwtSettings | undefined {
  if (!e.SWITCHBOARD_JWT_ISSUER || !e.SWITCHBOARD_JWT_AUDIENCE || !e.SWITCHBOARD_JWT_JWKS_URL) return undefined;
  return {
    issuer: e.SWITCHBOARD_JWT_ISSUER,
    audience: e.SWITCHBOARD_JWT_AUDIENCE,
    jwksUrl: e.SWITCHBOARD_JWT_JWKS_URL,
    tenantClaim: e.SWITCHBOARD_JWT_TENANT_CLAIM,
    clockToleranceSeconds: 5,
    maxLifetimeSeconds: e.SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS,
  };
}

/** The environment's overrides of the defaults (limits, cache TTL), as config fields: main.ts passes them to defaultGatewayConfig. */
export function overridesFromEnv(e: Env): Pick<GatewayConfig, 'limits' | 'cacheTtlSeconds' | 'metrics' | 'otlpTracesEndpoint' | 'trustedProxies'> {
  const t = e.CACHE_TTL_SECONDS;
  const base = e.OTEL_EXPORTER_OTLP_ENDPOINT?.replace(/\/+$/, '');
  return {
    trustedProxies: e.TRUSTED_PROXIES,
    metrics: {
      disabled: e.METRICS_PORT === undefined && !e.METRICS_TOKEN,
      token: e.METRICS_TOKEN ?? null,
      port: e.METRICS_PORT ?? null,
      host: e.METRICS_HOST,
    },
    // As the OpenTelemetry spec reads these two: the signal-specific one is used as given.
    otlpTracesEndpoint: e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? (base ? `${base}/v1/traces` : undefined),
    limits: {
      ...DEFAULT_LIMITS,
      requestDeadlineMs: e.REQUEST_DEADLINE_MS,
      upstreamAttemptTimeoutMs: e.UPSTREAM_TIMEOUT_MS,
      shutdownDrainMs: e.SHUTDOWN_DRAIN_MS,
      redisStartupTimeoutMs: e.REDIS_STARTUP_TIMEOUT_MS,
      jwtMaxLifetimeSeconds: e.SWITCHBOARD_JWT_MAX_LIFETIME_SECONDS,
      apiKeyDefaultTtlSeconds: e.SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS,
      apiKeyMaxTtlSeconds: e.SWITCHBOARD_API_KEY_MAX_TTL_SECONDS,
    },
    cacheTtlSeconds:
      t === undefined ? { ...DEFAULT_CACHE_TTL_SECONDS } : { Contact: t, Invoice: t, Order: t, listPage: Math.min(t, DEFAULT_CACHE_TTL_SECONDS.listPage) },
  };
}

/** A GatewayConfig with every default filled; tests and main.ts override what they need. */
export function defaultGatewayConfig(tenants: TenantConfig[], overrides: Partial<GatewayConfig> = {}): GatewayConfig {
  return {
    port: 0,
    host: '127.0.0.1',
    mode: 'production',
    redisUrl: null,
    keyPrefix: 'sb',
    tenants,
    providers: {},
    connectSessionTtlSeconds: DEFAULT_CONNECT_SESSION_TTL_SECONDS,
    allowInsecureOAuth: false,
    cacheTtlSeconds: { ...DEFAULT_CACHE_TTL_SECONDS },
    limits: { ...DEFAULT_LIMITS },
    logLevel: 'silent',
    events: { ...DEFAULT_EVENT_SETTINGS },
    ...overrides,
  };
}
