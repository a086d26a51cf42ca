// Connections, connect sessions, API keys and connection status events: thin, like every
// resolver. The work is in src/accounts/connect/; scopes are checked before any resolver runs
// (src/callers/scopes.ts).
import { coverageRows } from '../../connectors/sdk/coverage.ts';
import type { ApiKeyScope } from '../config.ts';
import type { ManagedConnection, StatusEvent } from '../accounts/connections.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput, toPublicError } from '../errors.ts';
import { DEFAULT_ISSUED_SCOPES } from '../callers/api-keys.ts';
import { forbidden } from '../callers/scopes.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { pushStream } from '../util/push-stream.ts';
import type { AuditAction } from '../audit/log.ts';

/** File-defined connections, shown with the same shape as runtime ones. */
function listConnections(rc: RequestContext): Promise<ManagedConnection[]> {
  const file = rc.tenant.connections
    .filter((c) => c.credentials.type !== 'vault')
    .map<ManagedConnection>((c) => ({
      id: c.id,
      tenantId: rc.tenant.id,
      provider: c.provider,
      auth: 'CONFIGURED',
      status: 'ACTIVE',
      scopes: [],
      baseUrl: null,
      settings: {},
      createdAt: '',
      lastRefreshedAt: null,
      lastError: null,
    }));
  return rc.services.connections.listByTenant(rc.tenant.id).then((managed) => [...file, ...managed.sort((a, b) => a.createdAt.localeCompare(b.createdAt))]);
}

const created =
  (provider: string, authType: string) =>
  (c: ManagedConnection | null): { target: string | null; detail: Record<string, unknown> } => ({ target: c?.id ?? null, detail: { provider, authType } });

function settingsArg(value: unknown, name: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badUserInput(`\`${name}\` must be an object`, name);
  return value as Record<string, unknown>;
}

/** Who is asking, as the audit log names them. */
export const requester = (rc: RequestContext) => ({ actor: rc.principal.actor ?? 'unknown', requestId: rc.requestId });

/**
 * Runs a mutation and records its audit entry, success or failure. `target` names what it
 * concerns once known; `detail` holds non-secret particulars. The audit store failing is logged
 * and does not undo the mutation.
 */
export async function audited<T>(
  rc: RequestContext,
  action: AuditAction,
  describe: (result: T | null) => { target: string | null; detail?: Record<string, unknown>; ok?: boolean },
  fn: () => Promise<T>,
): Promise<T> {
  let result: T | null = null;
  let failure: unknown = null;
  try {
    result = await fn();
  } catch (err) {
    failure = err;
  }
  const about = describe(result);
  await rc.services.audit
    .record({
      tenantId: rc.tenant.id,
      action,
      ...requester(rc),
      outcome: failure === null && about.ok !== false ? 'success' : 'failure',
      target: about.target,
      detail: { ...about.detail, ...(failure !== null ? { error: failure instanceof Error ? failure.message.slice(0, 200) : 'failed' } : {}) },
    })
    .catch((err: unknown) => rc.services.log.warn({ err: String(err) }, 'audit log unavailable'));
  if (failure !== null) throw failure;
  return result as T;
}

/**
 * Clear codes instead of INTERNAL_SERVER_ERROR: a provider failure keeps its connector code, a
 * store (Redis) outage is SERVICE_UNAVAILABLE, bad key input BAD_USER_INPUT.
 */
async function guarded<T>(provider: string | null, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const translated = toPublicError(err, provider ? { provider } : {});
    throw translated.extensions.code === 'INTERNAL_SERVER_ERROR' ? err : translated;
  }
}

export const connectionResolvers: Resolvers = {
  Query: {
    connections: (_, __, rc) => guarded(null, () => listConnections(rc)),
    connectors: (_, __, rc) =>
      [...rc.services.connectors.values()].map((c) => {
        const auth = c.manifest.auth;
        const registered = rc.services.config.providers[c.manifest.id]?.oauth !== undefined;
        const types: Array<'OAUTH2' | 'CLIENT_CREDENTIALS' | 'API_KEY' | 'BASIC'> = [];
        if (auth.oauth2 && registered && auth.oauth2.grants.includes('authorization_code')) types.push('OAUTH2');
        if (auth.oauth2 && registered && auth.oauth2.grants.includes('client_credentials')) types.push('CLIENT_CREDENTIALS');
        if (auth.apiKey) types.push('API_KEY');
        if (auth.basic) types.push('BASIC');
        return {
          id: c.manifest.id,
          displayName: c.manifest.displayName,
          authTypes: types,
          connectParams: (auth.oauth2?.connectParams ?? []).map((p) => p.name),
          coverage: coverageRows(c.coverage, c.manifest.entities),
        };
      }),
    apiKeys: (_, __, rc) => {
      // The key inventory (ids, scopes, labels) is an operator's view, not a data client's.
      if (!rc.principal.scopes.has('admin')) throw forbidden('listing API keys needs the "admin" scope');
      return guarded(null, () => rc.services.apiKeys.list(rc.tenant.id));
    },
  },
  Mutation: {
    createConnectSession: (_, args, rc) =>
      guarded(args.connector, () =>
        rc.connect.createSession(
          rc.tenant,
          { connector: args.connector, returnUrl: args.returnUrl ?? null, params: settingsArg(args.params, 'params'), reconnect: args.reconnect ?? null },
          rc.publicBase,
          requester(rc),
        ),
      ),
    connectWithClientCredentials: (_, args, rc) =>
      audited(rc, 'connection.created', created(args.connector, 'CLIENT_CREDENTIALS'), () =>
        guarded(args.connector, () => rc.connect.connectClientCredentials(rc.tenant, args.connector, args.scopes ?? null)),
      ),
    connectWithApiKey: (_, args, rc) =>
      audited(rc, 'connection.created', created(args.connector, 'API_KEY'), () =>
        guarded(args.connector, () =>
          rc.connect.connectWithSecret(rc.tenant, args.connector, { kind: 'api_key', apiKey: args.apiKey }, settingsArg(args.settings, 'settings')),
        ),
      ),
    connectWithBasicAuth: (_, args, rc) =>
      audited(rc, 'connection.created', created(args.connector, 'BASIC'), () =>
        guarded(args.connector, () =>
          rc.connect.connectWithSecret(
            rc.tenant,
            args.connector,
            { kind: 'basic', username: args.username, password: args.password },
            settingsArg(args.settings, 'settings'),
          ),
        ),
      ),
    disconnect: (_, { connectionId }, rc) =>
      audited(
        rc,
        'connection.disconnected',
        (r) => ({ target: connectionId, ...(r ? { detail: { revokedAtProvider: r.revokedAtProvider, message: r.message } } : {}) }),
        () => guarded(null, () => rc.connect.disconnect(rc.tenant, connectionId)),
      ),
    setConnectionEnabled: (_, { connectionId, enabled }, rc) =>
      audited(
        rc,
        enabled ? 'connection.enabled' : 'connection.disabled',
        (r) => ({ target: connectionId, ...(r ? { detail: { status: r.status } } : {}) }),
        () => guarded(null, () => rc.connect.setEnabled(rc.tenant, connectionId, enabled)),
      ),
    createApiKey: (_, args, rc) => {
      // A key never carries more than the credential that mints it, and it always expires.
      const scopes = (args.scopes ?? DEFAULT_ISSUED_SCOPES) as ApiKeyScope[];
      const beyond = scopes.filter((s) => !rc.principal.scopes.has(s));
      if (beyond.length) throw forbidden(`a new key's scopes must be among this credential's own; it lacks ${beyond.join(', ')}`);
      const { apiKeyDefaultTtlSeconds, apiKeyMaxTtlSeconds } = rc.config.limits;
      const ttlSeconds = args.expiresInSeconds ?? apiKeyDefaultTtlSeconds;
      if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > apiKeyMaxTtlSeconds)
        throw badUserInput(`expiresInSeconds must be between 1 and ${apiKeyMaxTtlSeconds} (this gateway's apiKeyMaxTtlSeconds)`, 'expiresInSeconds');
      return audited(
        rc,
        'apiKey.created',
        (r) => ({ target: r?.apiKey.id ?? null, detail: { scopes, ...(r ? { expiresAt: r.apiKey.expiresAt } : {}) } }),
        () =>
          guarded(null, async () => {
            const issued = await rc.services.apiKeys.create(rc.tenant.id, { scopes, ttlSeconds, ...(args.label != null ? { label: args.label } : {}) });
            return { key: issued.key, apiKey: issued.info };
          }),
      );
    },
    revokeApiKey: (_, { id }, rc) =>
      audited(
        rc,
        'apiKey.revoked',
        (revoked) => ({ target: id, ok: revoked === true }),
        () => guarded(null, () => rc.services.apiKeys.revoke(rc.tenant.id, id)),
      ),
  },
  Subscription: {
    connectionStatusChanged: {
      subscribe: (_: unknown, __: unknown, rc: RequestContext) =>
        pushStream<StatusEvent>((push) =>
          rc.services.connections.onStatus((e) => {
            // The tenant check runs on every event.
            if (e.tenantId === rc.tenant.id) push(e);
          }),
        ),
      resolve: (e: unknown) => e,
    } as never,
  },
  Connection: {
    authType: (c) => c.auth,
    createdAt: (c) => c.createdAt || null,
    // Keyed by the asking tenant: a connection id of another tenant reads nothing of theirs.
    health: (c, _, rc) => guarded(null, () => rc.services.health.read(rc.tenant.id, c.id)),
    events: async (c, _args, rc) => {
      const connector = rc.services.connectors.get(c.provider);
      const owner = await rc.services.directory.ownerOf(c.id);
      if (!connector || !owner || owner.tenant.id !== rc.tenant.id) return { mode: 'NONE', intervalMs: null, lastPolledAt: null, lag: null, lastError: null };
      return rc.services.poller.status(connector, owner.connection);
    },
  },
};
