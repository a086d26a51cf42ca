// Privacy requests from providers (ComplianceEvent in the connector contract; Shopify's mandatory
// customers/redact, shop/redact and customers/data_request), acted on for one tenant's connection:
// - redact-person: the named records leave the entity cache (model, raw record, deferred parts),
//   the connection's cached list pages stop counting, and every retained change-log entry of those
//   records or that e-mail is deleted (subscribers resuming later never receive it);
// - redact-account: everything cached for the connection and every change-log entry it published;
// - data-request: recorded for the tenant to answer (listDataRequests), once per request id.
// The purge of one person is a single function (purgePerson below) so the gateway-wide purge (all
// of a tenant's connections, vault, dead letters) can take its place without touching the route.
import type { RedisClient } from '../util/redis.ts';
import type { ComplianceEvent, PersonRecord } from '../../connectors/sdk/types.ts';
import type { EntityCache } from '../cache/entity-cache.ts';
import type { ChangeLog } from './change-log.ts';
import type { PublishedChange } from './model.ts';

/** Whose data a request concerns: one tenant's connection. */
export interface ComplianceScope {
  tenantId: string;
  connectionId: string;
  provider: string;
}

/** A person as a privacy request names them in one connection. */
export interface PersonInConnection {
  records: readonly PersonRecord[];
  email: string | null;
}

/** What was removed, for the log and the webhook answer (never the person's data). */
export interface PurgeOutcome {
  cachedRecords: number;
  changeLogEntries: number;
}

/** A data request kept for the tenant to answer. */
export interface DataRequest {
  requestId: string;
  connectionId: string;
  provider: string;
  records: PersonRecord[];
  email: string | null;
  providerRequestId: string | null;
  receivedAt: string;
}

export interface DataRequestStore {
  /** Records the request once per (connection, request id); false when it was recorded already. */
  add(tenantId: string, request: DataRequest): Promise<boolean>;
  list(tenantId: string): Promise<DataRequest[]>;
}

export interface ComplianceDeps {
  cache: EntityCache;
  changeLog: ChangeLog;
  dataRequests: DataRequestStore;
}

const sameEmail = (a: unknown, b: string) => typeof a === 'string' && a.trim().toLowerCase() === b.trim().toLowerCase();
/** A published record that carries the e-mail (a contact's addresses). */
const carriesEmail = (model: unknown, email: string): boolean => {
  const emails = (model as { emails?: unknown } | null)?.emails;
  return Array.isArray(emails) && emails.some((e) => sameEmail((e as { address?: unknown } | null)?.address, email));
};

/** Removes one person's records from the cache and their entries from the change log, in one connection of one tenant. */
export async function purgePerson(
  deps: Pick<ComplianceDeps, 'cache' | 'changeLog'>,
  scope: ComplianceScope,
  person: PersonInConnection,
): Promise<PurgeOutcome> {
  const cacheScope = { tenantId: scope.tenantId, connectionId: scope.connectionId };
  const byEntity = new Map<PersonRecord['entity'], string[]>();
  for (const r of person.records) byEntity.set(r.entity, [...(byEntity.get(r.entity) ?? []), r.remoteId]);
  for (const [entity, ids] of byEntity) {
    await deps.cache.forgetRecords(cacheScope, entity, ids);
    // Pages list the records' ids; a new generation makes every cached page of the entity stale.
    await deps.cache.invalidateLists(cacheScope, entity);
  }
  const named = new Set(person.records.map((r) => `${r.entity}:${r.remoteId}`));
  const email = person.email;
  const changeLogEntries = (
    await deps.changeLog.remove(
      scope.tenantId,
      (c) =>
        c.tenantId === scope.tenantId &&
        c.connectionId === scope.connectionId &&
        (named.has(`${c.entity}:${c.remoteId}`) || (email !== null && carriesEmail(c.model, email))),
    )
  ).length;
  return { cachedRecords: person.records.length, changeLogEntries };
}

/** Removes everything cached and logged for one connection of one tenant. */
export async function purgeConnection(deps: Pick<ComplianceDeps, 'cache' | 'changeLog'>, scope: ComplianceScope): Promise<PurgeOutcome> {
  const cachedRecords = await deps.cache.forgetConnection({ tenantId: scope.tenantId, connectionId: scope.connectionId });
  const changeLogEntries = (
    await deps.changeLog.remove(scope.tenantId, (c: PublishedChange) => c.tenantId === scope.tenantId && c.connectionId === scope.connectionId)
  ).length;
  return { cachedRecords, changeLogEntries };
}

/** Acts on one privacy request. Throws when a store fails (the route answers 503; the provider delivers again). */
export async function applyCompliance(deps: ComplianceDeps, scope: ComplianceScope, event: ComplianceEvent): Promise<PurgeOutcome | { recorded: boolean }> {
  switch (event.kind) {
    case 'redact-person':
      return purgePerson(deps, scope, event);
    case 'redact-account':
      return purgeConnection(deps, scope);
    case 'data-request':
      return {
        recorded: await deps.dataRequests.add(scope.tenantId, {
          requestId: event.requestId,
          connectionId: scope.connectionId,
          provider: scope.provider,
          records: event.records,
          email: event.email,
          providerRequestId: event.providerRequestId,
          receivedAt: new Date().toISOString(),
        }),
      };
  }
}

/** Data requests kept in Redis per tenant (newest first), deduplicated by connection and request id. */
export class RedisDataRequests implements DataRequestStore {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  async add(tenantId: string, request: DataRequest): Promise<boolean> {
    const once = `${this.prefix}:data-request-seen:${encodeURIComponent(request.connectionId)}:${encodeURIComponent(request.requestId)}`;
    // Kept as long as the provider may redeliver (Shopify retries for hours; a week is ample).
    if ((await this.redis.set(once, '1', 'EX', 7 * 24 * 3600, 'NX')) !== 'OK') return false;
    await this.redis.lpush(this.key(tenantId), JSON.stringify(request));
    return true;
  }

  async list(tenantId: string): Promise<DataRequest[]> {
    return (await this.redis.lrange(this.key(tenantId), 0, -1)).map((s) => JSON.parse(s) as DataRequest);
  }

  private key(tenantId: string): string {
    return `${this.prefix}:data-requests:${encodeURIComponent(tenantId)}`;
  }
}

/** In-process data requests (the embedded default without Redis). */
export class MemoryDataRequests implements DataRequestStore {
  private readonly byTenant = new Map<string, DataRequest[]>();
  private readonly seen = new Set<string>();

  async add(tenantId: string, request: DataRequest): Promise<boolean> {
    const once = `${request.connectionId}\u0000${request.requestId}`;
    if (this.seen.has(once)) return false;
    this.seen.add(once);
    this.byTenant.set(tenantId, [request, ...(this.byTenant.get(tenantId) ?? [])]);
    return true;
  }

  async list(tenantId: string): Promise<DataRequest[]> {
    return [...(this.byTenant.get(tenantId) ?? [])];
  }
}

/**
 * Acts on every request of one delivery for every connection it concerns (`scopesOf`: the URL's
 * connection, or the connections of the account an app-level URL names). Resolves with the number
 * of (request, connection) pairs acted on; throws when a store fails.
 */
export async function actOnDelivery(
  deps: ComplianceDeps,
  events: readonly ComplianceEvent[],
  scopesOf: (event: ComplianceEvent) => Promise<ComplianceScope[]>,
): Promise<number> {
  let acted = 0;
  for (const event of events) {
    for (const scope of await scopesOf(event)) {
      await applyCompliance(deps, scope, event);
      acted += 1;
    }
  }
  return acted;
}
