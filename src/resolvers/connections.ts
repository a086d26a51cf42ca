// Connections, connect sessions, API keys and connection status events: thin, like every
// resolver. The work is in src/accounts/connect/; scopes are checked before any resolver runs
// (src/callers/scopes.ts).
import type { ApiKeyScope } from '../config.ts';
import type { ManagedConnection, StatusEvent } from '../accounts/connections.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput, toPublicError } from '../errors.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { pushStream } from '../util/push-stream.ts';

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

function settingsArg(value: unknown, name: string): Record<string, unknown> {
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) throw badUserInput(`\`${name}\` must be an object`, name);
  return value as Record<string, unknown>;
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
        };
      }),
    apiKeys: (_, __, rc) => guarded(null, () => rc.services.apiKeys.list(rc.tenant.id)),
  },
  Mutation: {
    createConnectSession: (_, args, rc) =>
      guarded(args.connector, () =>
        rc.connect.createSession(
          rc.tenant,
          { connector: args.connector, returnUrl: args.returnUrl ?? null, params: settingsArg(args.params, 'params'), reconnect: args.reconnect ?? null },
          rc.publicBase,
        ),
      ),
    connectWithClientCredentials: (_, args, rc) =>
      guarded(args.connector, () => rc.connect.connectClientCredentials(rc.tenant, args.connector, args.scopes ?? null)),
    connectWithApiKey: (_, args, rc) =>
      guarded(args.connector, () =>
        rc.connect.connectWithSecret(rc.tenant, args.connector, { kind: 'api_key', apiKey: args.apiKey }, settingsArg(args.settings, 'settings')),
      ),
    connectWithBasicAuth: (_, args, rc) =>
      guarded(args.connector, () =>
        rc.connect.connectWithSecret(
          rc.tenant,
          args.connector,
          { kind: 'basic', username: args.username, password: args.password },
          settingsArg(args.settings, 'settings'),
        ),
      ),
    disconnect: (_, { connectionId }, rc) => guarded(null, () => rc.connect.disconnect(rc.tenant, connectionId)),
    setConnectionEnabled: (_, { connectionId, enabled }, rc) => guarded(null, () => rc.connect.setEnabled(rc.tenant, connectionId, enabled)),
    createApiKey: (_, args, rc) =>
      guarded(null, async () => {
        const issued = await rc.services.apiKeys.create(rc.tenant.id, {
          scopes: (args.scopes ?? undefined) as ApiKeyScope[] | undefined,
          label: args.label ?? undefined,
        });
        return { key: issued.key, apiKey: issued.info };
      }),
    revokeApiKey: (_, { id }, rc) => guarded(null, () => rc.services.apiKeys.revoke(rc.tenant.id, id)),
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
