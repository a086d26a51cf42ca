// What Switchboard holds about one person, for one tenant, and removing it (issue 13: GDPR-style
// export and erasure). Switchboard stores no personal data of its own: what it holds are copies of
// provider records — cached records and the list pages naming them, and the payloads of processed
// changes kept for resuming subscriptions — and the operator's manual identity decisions about the
// person's contacts (src/identity/links.ts).
//
// A person is named by e-mail (matched case-insensitively against contacts' addresses and orders'
// customer e-mail) and/or by remote ids per connection (what a provider's compliance webhook names,
// e.g. Shopify's customers/redact: the customer and orders to redact). Their records are: contacts
// matching either; invoices and orders of those contacts (contactRemoteId / customerRemoteId);
// orders carrying the e-mail; any record named by id. A provider's request concerns its own
// connection only (`connectionId`): then nothing of the tenant's other connections is touched.
//
// Where the records are found: the change log (every retained change is read), and the entity
// cache when its store can be enumerated (Redis; the in-process LRU of the embedded default
// cannot, so there only the named remote ids and change-log hits are purged — list pages of the
// affected connections are invalidated either way, so no page names a purged record again).
//
// The one code path for the GraphQL mutations and for connectors' compliance webhooks
// (events/compliance.ts calls purgePerson with the connection of the request):
//   purgePerson(deps, tenantId, { email?, remoteIds?, connectionId? }, who?) → PersonReport
//   exportPerson(deps, tenantId, { email?, remoteIds?, connectionId? }, who?) → PersonExport
// Both record an audit entry (person.purged / person.exported) naming a digest of the e-mail, not
// the e-mail: the trail must not keep what was erased.
import { createHash } from 'node:crypto';
import type { EntityModel, EntityType } from '../../connectors/sdk/models.ts';
import type { AuditLog } from '../audit/log.ts';
import type { EntityCache } from '../cache/entity-cache.ts';
import type { ChangeLog } from '../events/change-log.ts';
import type { PublishedChange } from '../events/model.ts';
import type { IdentityLinks, StoredDecision } from '../identity/links.ts';
import { normalizeEmail, type ContactRef } from '../identity/match.ts';

/** The stores a purge reads and clears. */
export interface PrivacyDeps {
  cache: EntityCache;
  changeLog: ChangeLog;
  audit: AuditLog;
  identity: IdentityLinks;
  /**
   * The tenant's connection ids: remote ids naming another connection are refused. Absent when
   * the caller vouches for the connection (a provider's privacy request arrives on its own).
   */
  connectionsOf?: (tenantId: string) => Promise<Set<string>>;
}

export interface PersonQuery {
  email?: string | null;
  /** Remote ids of the person's records, per connection of the tenant (a contact unless `entity` says otherwise). */
  remoteIds?: ReadonlyArray<{ connectionId: string; remoteId: string; entity?: EntityType }> | null;
  /** Only this connection's records and links (a provider's privacy request). */
  connectionId?: string | null;
}

export interface Requester {
  actor: string;
  requestId: string | null;
  /** What asked, when not a GraphQL caller (e.g. "shopify customers/redact"). */
  via?: string;
}

export interface HeldRecord {
  connectionId: string;
  entity: EntityType;
  remoteId: string;
  /** Where it was held: the entity cache or the change log. */
  store: 'cache' | 'changeLog';
  model: EntityModel | null;
}

/** A manual identity decision about one of the person's contacts (or the person's address). */
export interface HeldLink extends StoredDecision {
  /** The address of the person the decision is about. */
  email: string;
}

export interface PersonExport {
  records: HeldRecord[];
  links: HeldLink[];
  /** False when the cache could not be enumerated (in-process store): only named ids were looked up there. */
  cacheSearched: boolean;
}

export interface PersonReport {
  cachedRecordsRemoved: number;
  listPagesRemoved: number;
  changesRemoved: number;
  identityLinksRemoved: number;
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
  readonly email: string | null;
  /** `<connectionId>\u0000<remoteId>` of the person's contacts. */
  readonly contacts = new Set<string>();
  /** `<connectionId>\u0000<entity>\u0000<remoteId>` of records named by id. */
  private readonly named = new Set<string>();

  constructor(q: PersonQuery) {
    this.email = q.email ? normalizeEmail(q.email) : null;
    for (const r of q.remoteIds ?? []) {
      const entity = r.entity ?? 'Contact';
      this.named.add(`${r.connectionId}\u0000${entity}\u0000${r.remoteId}`);
      if (entity === 'Contact') this.contacts.add(`${r.connectionId}\u0000${r.remoteId}`);
    }
    if (!this.email && this.named.size === 0) throw new PersonQueryError('name the person by email or remoteIds');
  }

  private isContact(connectionId: string, remoteId: string | null | undefined): boolean {
    return remoteId != null && this.contacts.has(`${connectionId}\u0000${remoteId}`);
  }

  /** First pass: contacts (by e-mail or id); they name the person's other records. */
  noteContact(connectionId: string, entity: string, remoteId: string, model: EntityModel | null): boolean {
    if (entity !== 'Contact') return false;
    const byEmail = this.email !== null && model?.entity === 'Contact' && model.emails.some((e) => normalizeEmail(e.address) === this.email);
    if (byEmail) this.contacts.add(`${connectionId}\u0000${remoteId}`);
    return byEmail || this.isContact(connectionId, remoteId);
  }

  /** Second pass: anything of the person's (named records, contacts found in pass one, their invoices and orders, orders with the e-mail). */
  matches(connectionId: string, entity: string, remoteId: string, model: EntityModel | null): boolean {
    if (this.named.has(`${connectionId}\u0000${entity}\u0000${remoteId}`)) return true;
    if (entity === 'Contact') return this.isContact(connectionId, remoteId);
    if (model?.entity === 'Invoice') return this.isContact(connectionId, model.contactRemoteId);
    if (model?.entity === 'Order')
      return (
        this.isContact(connectionId, model.customerRemoteId) ||
        (this.email !== null && model.customerEmail != null && normalizeEmail(model.customerEmail) === this.email)
      );
    return false;
  }

  /** Records named by id, as (connection, entity, remote id). */
  namedRecords(): Array<{ connectionId: string; entity: EntityType; remoteId: string }> {
    return [...this.named].map((k) => {
      const [connectionId = '', entity = 'Contact', remoteId = ''] = k.split('\u0000');
      return { connectionId, entity: entity as EntityType, remoteId };
    });
  }

  contactRefs(): ContactRef[] {
    return [...this.contacts].map((k) => {
      const [connectionId = '', remoteId = ''] = k.split('\u0000');
      return { connectionId, remoteId };
    });
  }
}

export class PersonQueryError extends Error {
  override readonly name = 'PersonQueryError';
}

interface Found {
  records: HeldRecord[];
  pageKeys: string[];
  changes: PublishedChange[];
  links: HeldLink[];
  cacheSearched: boolean;
  matcher: PersonMatcher;
}

async function find(deps: PrivacyDeps, tenantId: string, q: PersonQuery): Promise<Found> {
  const matcher = new PersonMatcher(q);
  const own = deps.connectionsOf ? await deps.connectionsOf(tenantId) : null;
  for (const r of q.remoteIds ?? []) {
    if (own && !own.has(r.connectionId)) throw new PersonQueryError(`no connection "${r.connectionId}"`);
    if (q.connectionId && r.connectionId !== q.connectionId)
      throw new PersonQueryError(`remote id of connection "${r.connectionId}" outside "${q.connectionId}"`);
  }
  const inScope = (connectionId: string) => !q.connectionId || connectionId === q.connectionId;

  // The change log: every retained change of this tenant (and connection), contacts first.
  const changes: PublishedChange[] = [];
  let cursor = '0-0';
  for (;;) {
    const batch = await deps.changeLog.readAfter(tenantId, cursor, 1000);
    for (const c of batch) if (c.tenantId === tenantId && inScope(c.connectionId)) changes.push(c);
    if (batch.length < 1000) break;
    cursor = batch[batch.length - 1]!.cursor;
  }
  for (const c of changes) matcher.noteContact(c.connectionId, c.entity, c.remoteId, c.model);

  // The cache, when it can be enumerated: records (two passes, like the log) and pages.
  const scan = deps.cache.scanTenant(tenantId);
  const cached: Array<{ connectionId: string; entity: string; remoteId: string; model: EntityModel | null }> = [];
  const pages: Array<{ key: string; connectionId: string; remoteIds: string[]; entity: string }> = [];
  if (scan) {
    for await (const entry of scan) {
      if (!inScope(entry.connectionId)) continue;
      if (entry.kind === 'record') {
        const model = modelOf(entry.value);
        const remoteId = decodeURIComponent(entry.key.split(':').slice(4).join(':'));
        cached.push({ connectionId: entry.connectionId, entity: entry.entity, remoteId, model });
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
    // Without enumeration: the records named by id, looked up where they would be cached.
    for (const r of matcher.namedRecords()) {
      const [rec] = await deps.cache.getRecords({ tenantId, connectionId: r.connectionId }, r.entity, [r.remoteId]);
      if (rec) cached.push({ ...r, model: rec.model });
    }
  }

  const records: HeldRecord[] = [];
  for (const r of cached) {
    if (!matcher.matches(r.connectionId, r.entity, r.remoteId, r.model)) continue;
    records.push({ connectionId: r.connectionId, entity: r.entity as EntityType, remoteId: r.remoteId, store: 'cache', model: r.model });
  }
  const mine = new Set(records.map((r) => `${r.connectionId}\u0000${r.entity}\u0000${r.remoteId}`));
  const pageKeys = pages.filter((p) => p.remoteIds.some((id) => mine.has(`${p.connectionId}\u0000${p.entity}\u0000${id}`))).map((p) => p.key);
  const personChanges = changes.filter((c) => matcher.matches(c.connectionId, c.entity, c.remoteId, c.model));
  for (const c of personChanges) records.push({ connectionId: c.connectionId, entity: c.entity, remoteId: c.remoteId, store: 'changeLog', model: c.model });

  // Manual identity decisions: about the person's address, and about any of their contacts.
  const links = new Map<string, HeldLink>();
  const note = (d: HeldLink) => inScope(d.contact.connectionId) && links.set(`${d.email}\u0000${d.contact.connectionId}\u0000${d.contact.remoteId}`, d);
  if (matcher.email) for (const d of (await deps.identity.decisions(tenantId, [matcher.email]))[0] ?? []) note({ ...d, email: matcher.email });
  for (const d of await deps.identity.about(tenantId, matcher.contactRefs())) note(d);
  return { records, pageKeys, changes: personChanges, links: [...links.values()], cacheSearched: scan !== null, matcher };
}

async function audit(
  deps: PrivacyDeps,
  tenantId: string,
  action: 'person.exported' | 'person.purged',
  q: PersonQuery,
  who: Requester | undefined,
  detail: Record<string, unknown>,
) {
  await deps.audit.record({
    tenantId,
    action,
    actor: who?.actor ?? 'system',
    requestId: who?.requestId ?? null,
    outcome: 'success',
    target: q.email ? emailDigest(q.email) : null,
    detail: {
      ...detail,
      ...(q.remoteIds?.length ? { remoteIds: q.remoteIds.length } : {}),
      ...(q.connectionId ? { connectionId: q.connectionId } : {}),
      ...(who?.via ? { via: who.via } : {}),
    },
  });
}

/** Everything this gateway holds about the person for this tenant (copies of provider records, identity decisions). */
export async function exportPerson(deps: PrivacyDeps, tenantId: string, q: PersonQuery, who?: Requester): Promise<PersonExport> {
  const found = await find(deps, tenantId, q);
  await audit(deps, tenantId, 'person.exported', q, who, { records: found.records.length, identityLinks: found.links.length });
  return { records: found.records, links: found.links, cacheSearched: found.cacheSearched };
}

/** Removes the person's cached records, the list pages naming them, their change-log payloads and identity decisions. */
export async function purgePerson(deps: PrivacyDeps, tenantId: string, q: PersonQuery, who?: Requester): Promise<PersonReport> {
  const found = await find(deps, tenantId, q);
  // Records found, and records named by id wherever they are cached: model, raw record and deferred parts.
  const forget = new Map<string, { connectionId: string; entity: EntityType; ids: Set<string> }>();
  const add = (connectionId: string, entity: EntityType, remoteId: string) => {
    const key = `${connectionId}\u0000${entity}`;
    const group = forget.get(key) ?? { connectionId, entity, ids: new Set<string>() };
    group.ids.add(remoteId);
    forget.set(key, group);
  };
  for (const r of found.records) add(r.connectionId, r.entity, r.remoteId);
  for (const r of found.matcher.namedRecords()) add(r.connectionId, r.entity, r.remoteId);
  for (const g of forget.values()) await deps.cache.forgetRecords({ tenantId, connectionId: g.connectionId }, g.entity, [...g.ids]);
  await deps.cache.deleteKeys(found.pageKeys);
  // No page of the affected connections may name a purged record again (pages the scan could not see included).
  for (const g of forget.values()) await deps.cache.invalidateLists({ tenantId, connectionId: g.connectionId }, g.entity);
  const cursors = new Set(found.changes.map((c) => c.cursor));
  const removed = cursors.size ? await deps.changeLog.remove(tenantId, (c) => cursors.has(c.cursor)) : [];
  // Identity decisions: about the found contacts, and (a tenant-wide purge) the person's own.
  let identityLinksRemoved = await deps.identity.forgetContacts(
    tenantId,
    found.links.map((l) => l.contact),
  );
  if (found.matcher.email && !q.connectionId) identityLinksRemoved += (await deps.identity.forget(tenantId, found.matcher.email)).length;
  const report: PersonReport = {
    cachedRecordsRemoved: found.records.filter((r) => r.store === 'cache').length,
    listPagesRemoved: found.pageKeys.length,
    changesRemoved: removed.length,
    identityLinksRemoved,
    cacheSearched: found.cacheSearched,
  };
  await audit(deps, tenantId, 'person.purged', q, who, { ...report });
  return report;
}
