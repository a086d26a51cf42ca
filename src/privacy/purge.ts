// What Switchboard holds about one person, for one tenant, and removing it (issue 13: GDPR-style
// export and erasure). Switchboard stores no personal data of its own: what it holds are copies of
// provider records — cached records and the list pages naming them, and the payloads of processed
// changes kept for resuming subscriptions. (Identity links between providers do not exist in this
// gateway yet; when they do, they belong here too.)
//
// A person is named by e-mail (matched case-insensitively against contacts' addresses and orders'
// customer e-mail) and/or by remote ids per connection (what a provider's compliance webhook names,
// e.g. Shopify's customers/redact). Their records are: contacts matching either; invoices and
// orders of those contacts (contactRemoteId / customerRemoteId); orders carrying the e-mail.
//
// Where the records are found: the change log (every retained change is read), and the entity
// cache when its store can be enumerated (Redis; the in-process LRU of the embedded default
// cannot, so there only the named remote ids and change-log hits are purged — list pages of the
// tenant's connections are invalidated either way, so no page names a purged record again).
//
// The one code path for the GraphQL mutations and for connectors' compliance webhooks:
//   purgePerson(services, tenantId, { email?, remoteIds? }, who?) → PersonReport
//   exportPerson(services, tenantId, { email?, remoteIds? }, who?) → PersonExport
// Both record an audit entry (person.purged / person.exported) naming a digest of the e-mail, not
// the e-mail: the trail must not keep what was erased.
import { createHash } from 'node:crypto';
import type { EntityModel, EntityType } from '../../connectors/sdk/models.ts';
import type { GatewayServices } from '../context.ts';
import type { PublishedChange } from '../events/model.ts';

export interface PersonQuery {
  email?: string | null;
  /** Remote ids of the person's contact record, per connection of the tenant. */
  remoteIds?: ReadonlyArray<{ connectionId: string; remoteId: string }> | null;
}

export interface Requester {
  actor: string;
  requestId: string | null;
}

export interface HeldRecord {
  connectionId: string;
  entity: EntityType;
  remoteId: string;
  /** Where it was held: the entity cache or the change log. */
  store: 'cache' | 'changeLog';
  model: EntityModel | null;
}

export interface PersonExport {
  records: HeldRecord[];
  /** False when the cache could not be enumerated (in-process store): only named ids were looked up there. */
  cacheSearched: boolean;
}

export interface PersonReport {
  cachedRecordsRemoved: number;
  listPagesRemoved: number;
  changesRemoved: number;
  cacheSearched: boolean;
}

/** A short digest of an e-mail for the audit trail (the address itself is what is being erased). */
export function emailDigest(email: string): string {
  return `sha256:${createHash('sha256').update(email.trim().toLowerCase()).digest('hex').slice(0, 16)}`;
}

const modelOf = (v: unknown): EntityModel | null => {
  const model = (v as { model?: unknown } | null)?.model;
  return model && typeof model === 'object' && 'entity' in model ? (model as EntityModel) : null;
};

/** Decides which records belong to the person; learns contact ids from matches as it goes. */
class PersonMatcher {
  private readonly email: string | null;
  /** `<connectionId>\u0000<remoteId>` of the person's contacts. */
  readonly contacts = new Set<string>();

  constructor(q: PersonQuery) {
    this.email = q.email ? q.email.trim().toLowerCase() : null;
    for (const r of q.remoteIds ?? []) this.contacts.add(`${r.connectionId}\u0000${r.remoteId}`);
    if (!this.email && this.contacts.size === 0) throw new PersonQueryError('name the person by email or remoteIds');
  }

  private isContact(connectionId: string, remoteId: string | null | undefined): boolean {
    return remoteId != null && this.contacts.has(`${connectionId}\u0000${remoteId}`);
  }

  /** First pass: contacts (by e-mail or id); they name the person's other records. */
  noteContact(connectionId: string, entity: string, remoteId: string, model: EntityModel | null): boolean {
    if (entity !== 'Contact') return false;
    const byEmail = this.email !== null && model?.entity === 'Contact' && model.emails.some((e) => e.address.toLowerCase() === this.email);
    if (byEmail) this.contacts.add(`${connectionId}\u0000${remoteId}`);
    return byEmail || this.isContact(connectionId, remoteId);
  }

  /** Second pass: anything of the person's (contacts found in pass one, their invoices and orders, orders with the e-mail). */
  matches(connectionId: string, entity: string, remoteId: string, model: EntityModel | null): boolean {
    if (entity === 'Contact') return this.isContact(connectionId, remoteId);
    if (model?.entity === 'Invoice') return this.isContact(connectionId, model.contactRemoteId);
    if (model?.entity === 'Order')
      return this.isContact(connectionId, model.customerRemoteId) || (this.email !== null && model.customerEmail?.toLowerCase() === this.email);
    return false;
  }
}

export class PersonQueryError extends Error {
  override readonly name = 'PersonQueryError';
}

interface Found {
  records: HeldRecord[];
  cacheKeys: string[];
  pageKeys: string[];
  changes: PublishedChange[];
  cacheSearched: boolean;
  matcher: PersonMatcher;
}

async function find(services: GatewayServices, tenantId: string, q: PersonQuery): Promise<Found> {
  const matcher = new PersonMatcher(q);
  const own = new Set((await services.connections.listByTenant(tenantId)).map((c) => c.id));
  for (const t of services.config.tenants) if (t.id === tenantId) for (const c of t.connections) own.add(c.id);
  for (const r of q.remoteIds ?? []) if (!own.has(r.connectionId)) throw new PersonQueryError(`no connection "${r.connectionId}"`);

  // The change log: every retained change of this tenant, contacts first.
  const changes: PublishedChange[] = [];
  let cursor = '0-0';
  for (;;) {
    const batch = await services.events.log.readAfter(tenantId, cursor, 1000);
    for (const c of batch) if (c.tenantId === tenantId) changes.push(c);
    if (batch.length < 1000) break;
    cursor = batch[batch.length - 1]!.cursor;
  }
  for (const c of changes) matcher.noteContact(c.connectionId, c.entity, c.remoteId, c.model);

  // The cache, when it can be enumerated: records (two passes, like the log) and pages.
  const scan = services.cache.scanTenant(tenantId);
  const cached: Array<{ key: string; connectionId: string; entity: string; remoteId: string; model: EntityModel | null }> = [];
  const pages: Array<{ key: string; connectionId: string; remoteIds: string[]; entity: string }> = [];
  if (scan) {
    for await (const entry of scan) {
      if (entry.kind === 'record') {
        const model = modelOf(entry.value);
        const remoteId = decodeURIComponent(entry.key.split(':').slice(4).join(':'));
        cached.push({ key: entry.key, connectionId: entry.connectionId, entity: entry.entity, remoteId, model });
        matcher.noteContact(entry.connectionId, entry.entity, remoteId, model);
      } else {
        const remoteIds = (entry.value as { remoteIds?: unknown } | null)?.remoteIds;
        pages.push({
          key: entry.key,
          connectionId: entry.connectionId,
          entity: entry.entity,
          remoteIds: Array.isArray(remoteIds) ? (remoteIds as string[]) : [],
        });
      }
    }
  } else {
    // Without enumeration: the contacts named by id, looked up where they would be cached.
    for (const id of matcher.contacts) {
      const [connectionId = '', remoteId = ''] = id.split('\u0000');
      const [rec] = await services.cache.getRecords({ tenantId, connectionId }, 'Contact', [remoteId]);
      if (rec) cached.push({ key: '', connectionId, entity: 'Contact', remoteId, model: rec.model });
    }
  }

  const records: HeldRecord[] = [];
  const cacheKeys: string[] = [];
  for (const r of cached) {
    if (!matcher.matches(r.connectionId, r.entity, r.remoteId, r.model)) continue;
    records.push({ connectionId: r.connectionId, entity: r.entity as EntityType, remoteId: r.remoteId, store: 'cache', model: r.model });
    if (r.key) cacheKeys.push(r.key, `r${r.key.slice(1)}`);
  }
  const mine = new Set(records.map((r) => `${r.connectionId}\u0000${r.entity}\u0000${r.remoteId}`));
  const pageKeys = pages.filter((p) => p.remoteIds.some((id) => mine.has(`${p.connectionId}\u0000${p.entity}\u0000${id}`))).map((p) => p.key);
  const personChanges = changes.filter((c) => matcher.matches(c.connectionId, c.entity, c.remoteId, c.model));
  for (const c of personChanges) records.push({ connectionId: c.connectionId, entity: c.entity, remoteId: c.remoteId, store: 'changeLog', model: c.model });
  return { records, cacheKeys, pageKeys, changes: personChanges, cacheSearched: scan !== null, matcher };
}

async function audit(
  services: GatewayServices,
  tenantId: string,
  action: 'person.exported' | 'person.purged',
  q: PersonQuery,
  who: Requester | undefined,
  detail: Record<string, unknown>,
) {
  await services.audit.record({
    tenantId,
    action,
    actor: who?.actor ?? 'system',
    requestId: who?.requestId ?? null,
    outcome: 'success',
    target: q.email ? emailDigest(q.email) : null,
    detail: { ...detail, ...(q.remoteIds?.length ? { remoteIds: q.remoteIds.length } : {}) },
  });
}

/** Everything this gateway holds about the person for this tenant (copies of provider records). */
export async function exportPerson(services: GatewayServices, tenantId: string, q: PersonQuery, who?: Requester): Promise<PersonExport> {
  const found = await find(services, tenantId, q);
  await audit(services, tenantId, 'person.exported', q, who, { records: found.records.length });
  return { records: found.records, cacheSearched: found.cacheSearched };
}

/** Removes the person's cached records, the list pages naming them and their change-log payloads. */
export async function purgePerson(services: GatewayServices, tenantId: string, q: PersonQuery, who?: Requester): Promise<PersonReport> {
  const found = await find(services, tenantId, q);
  await services.cache.deleteKeys([...found.cacheKeys, ...found.pageKeys]);
  // Records found without enumeration have no key: delete them by id.
  for (const r of found.records) if (r.store === 'cache') await services.cache.deleteRecord({ tenantId, connectionId: r.connectionId }, r.entity, r.remoteId);
  // No page of the affected connections may name a purged record again (pages the scan could not see included).
  const affected = new Set(found.records.map((r) => `${r.connectionId}\u0000${r.entity}`));
  for (const a of affected) {
    const [connectionId = '', entity = ''] = a.split('\u0000');
    await services.cache.invalidateLists({ tenantId, connectionId }, entity as EntityType);
  }
  const cursors = new Set(found.changes.map((c) => c.cursor));
  const removed = cursors.size ? await services.events.log.remove(tenantId, (c) => cursors.has(c.cursor)) : [];
  const report: PersonReport = {
    cachedRecordsRemoved: found.records.filter((r) => r.store === 'cache').length,
    listPagesRemoved: found.pageKeys.length,
    changesRemoved: removed.length,
    cacheSearched: found.cacheSearched,
  };
  await audit(services, tenantId, 'person.purged', q, who, { ...report });
  return report;
}
