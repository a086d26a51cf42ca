// Privacy requests from providers (ComplianceEvent in the connector contract; Shopify's mandatory
// customers/redact, shop/redact and customers/data_request), acted on for one tenant's connection:
// - redact-person: the gateway-wide person purge (privacy/purge.ts purgePerson), limited to the
//   request's connection — the named records and the e-mail's records leave the entity cache
//   (model, raw record, deferred parts), the connection's cached list pages stop counting, every
//   retained change-log entry of them is deleted (subscribers resuming later never receive it), the
//   manual identity links of those contacts go, and the audit log records it;
// - redact-account: everything cached for the connection, every change-log entry it published and
//   every identity link of its contacts, recorded in the audit log (connection.purged);
// - data-request: recorded for the tenant to answer (listDataRequests), once per request id.
import type { RedisClient } from '../util/redis.ts';
import type { ComplianceEvent, PersonRecord } from '../../connectors/sdk/types.ts';
import { purgePerson, type PrivacyDeps } from '../privacy/purge.ts';
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

/** The stores a purge clears (privacy/purge.ts) and where data requests are kept. */
export interface ComplianceDeps extends PrivacyDeps {
  dataRequests: DataRequestStore;
}

/** Removes one person's records, change-log entries and identity links in one connection of one tenant. */
export async function redactPerson(deps: PrivacyDeps, scope: ComplianceScope, person: PersonInConnection): Promise<PurgeOutcome> {
  if (person.records.length === 0 && !person.email) return { cachedRecords: 0, changeLogEntries: 0 };
  const report = await purgePerson(
    deps,
    scope.tenantId,
    {
      email: person.email,
      remoteIds: person.records.map((r) => ({ connectionId: scope.connectionId, entity: r.entity, remoteId: r.remoteId })),
      connectionId: scope.connectionId,
    },
    { actor: 'system', requestId: null, via: `${scope.provider} privacy request` },
  );
  return { cachedRecords: report.cachedRecordsRemoved, changeLogEntries: report.changesRemoved };
}

/** Removes everything cached, logged and linked for one connection of one tenant, and audits it. */
export async function purgeConnection(deps: Pick<ComplianceDeps, 'cache' | 'changeLog' | 'identity' | 'audit'>, scope: ComplianceScope): Promise<PurgeOutcome> {
  const cachedRecords = await deps.cache.forgetConnection({ tenantId: scope.tenantId, connectionId: scope.connectionId });
  await deps.identity.forgetConnection(scope.tenantId, scope.connectionId);
  const changeLogEntries = (
    await deps.changeLog.remove(scope.tenantId, (c: PublishedChange) => c.tenantId === scope.tenantId && c.connectionId === scope.connectionId)
  ).length;
  await deps.audit.record({
    tenantId: scope.tenantId,
    action: 'connection.purged',
    actor: 'system',
    requestId: null,
    outcome: 'success',
    target: scope.connectionId,
    detail: { via: `${scope.provider} privacy request`, cachedRecordsRemoved: cachedRecords, changesRemoved: changeLogEntries },
  });
  return { cachedRecords, changeLogEntries };
}

/** Acts on one privacy request. Throws when a store fails (the route answers 503; the provider delivers again). */
export async function applyCompliance(deps: ComplianceDeps, scope: ComplianceScope, event: ComplianceEvent): Promise<PurgeOutcome | { recorded: boolean }> {
  switch (event.kind) {
    case 'redact-person':
      return redactPerson(deps, scope, event);
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
