// Personal data (issue 13): exportPerson returns what the gateway holds about one person for one
// tenant (cached records, change-log payloads); purgePerson removes it — records, the list pages
// naming them, the change-log entries — and the audit log records it without the e-mail.
import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ContactModel } from '../connectors/sdk/models.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { encodeId } from '../src/ids.ts';
import { emailDigest } from '../src/privacy/purge.ts';
import { REDIS_URL, startStack, type Stack } from './helpers.ts';

let readKey = '';
const BETA_KEY = `sb_beta_${randomUUID()}`;
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    scale: { contacts: 6, invoices: 3, orders: 3 },
    extraTenants: () => [{ id: 'beta', apiKeys: [{ id: 'b1', sha256: hashApiKey(BETA_KEY) }], connections: [] }],
  });
  readKey = (await stack.gateway.services.apiKeys.create('acme', { scopes: ['read'] })).key;
});
afterAll(async () => {
  await stack?.stop();
});

const EXPORT = `query($e: String, $r: [PersonRemoteId!]) { exportPerson(email: $e, remoteIds: $r) { cacheSearched records { connectionId entity remoteId store model } identityLinks { personEmail contactId kind actor } } }`;
const PURGE = `mutation($e: String, $r: [PersonRemoteId!]) { purgePerson(email: $e, remoteIds: $r) { cachedRecordsRemoved listPagesRemoved changesRemoved identityLinksRemoved cacheSearched } }`;
interface Held {
  connectionId: string;
  entity: string;
  remoteId: string;
  store: string;
  model: unknown;
}

async function cachedContacts(): Promise<Array<{ remoteId: string; email: string }>> {
  const res = await stack.query<{ contacts: { nodes: Array<{ emails: Array<{ address: string }>; source: { remoteId: string } }> } }>(
    `{ contacts(first: 6, filter: { connectionId: "acme-hubspot" }) { nodes { emails { address } source { remoteId } } } }`,
  );
  expect(res.errors).toBeUndefined();
  return res.data!.contacts.nodes.filter((n) => n.emails[0]).map((n) => ({ remoteId: n.source.remoteId, email: n.emails[0]!.address }));
}

async function logChange(remoteId: string): Promise<void> {
  const scope = { tenantId: 'acme', connectionId: 'acme-hubspot' };
  const [record] = await stack.gateway.services.cache.getRecords<ContactModel>(scope, 'Contact', [remoteId]);
  await stack.gateway.services.events.log.append({
    tenantId: 'acme',
    connectionId: 'acme-hubspot',
    provider: 'hubspot',
    entity: 'Contact',
    eventId: `evt-${randomUUID()}`,
    type: 'UPDATED',
    occurredAt: new Date().toISOString(),
    remoteId,
    model: record!.model,
    publishedAt: new Date().toISOString(),
  });
}

describe('exportPerson / purgePerson', () => {
  it('export lists the cached record and the change-log payload of the person; admin only; other tenants get nothing', async () => {
    const [person] = await cachedContacts();
    await logChange(person!.remoteId);
    const reader = await stack.query(EXPORT, { e: person!.email }, readKey);
    expect(reader.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');

    const res = await stack.query<{ exportPerson: { cacheSearched: boolean; records: Held[] } }>(EXPORT, { e: person!.email.toUpperCase() });
    expect(res.errors).toBeUndefined();
    expect(res.data!.exportPerson.cacheSearched).toBe(true);
    const held = res.data!.exportPerson.records.map((r) => [r.store, r.entity, r.remoteId]);
    expect(held).toContainEqual(['CACHE', 'Contact', person!.remoteId]);
    expect(held).toContainEqual(['CHANGE_LOG', 'Contact', person!.remoteId]);

    const beta = await stack.query<{ exportPerson: { records: Held[] } }>(EXPORT, { e: person!.email }, BETA_KEY);
    expect(beta.data!.exportPerson.records).toEqual([]);
    expect((await stack.query(EXPORT, {})).errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('purge removes the records, the pages naming them and the change-log entries, and is audited without the e-mail', async () => {
    const [person, other] = await cachedContacts();
    await logChange(person!.remoteId);
    await logChange(other!.remoteId);
    const res = await stack.query<{ purgePerson: { cachedRecordsRemoved: number; listPagesRemoved: number; changesRemoved: number } }>(PURGE, {
      e: person!.email,
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.purgePerson.cachedRecordsRemoved).toBeGreaterThanOrEqual(1);
    expect(res.data!.purgePerson.listPagesRemoved).toBeGreaterThanOrEqual(1);
    expect(res.data!.purgePerson.changesRemoved).toBeGreaterThanOrEqual(1);

    const scope = { tenantId: 'acme', connectionId: 'acme-hubspot' };
    const [gone, kept] = await stack.gateway.services.cache.getRecords(scope, 'Contact', [person!.remoteId, other!.remoteId]);
    expect(gone).toBeUndefined();
    expect(kept).toBeDefined();
    const log = await stack.gateway.services.events.log.readAfter('acme', '0-0', 10_000);
    expect(log.filter((c) => c.remoteId === person!.remoteId)).toEqual([]);
    expect(log.filter((c) => c.remoteId === other!.remoteId).length).toBeGreaterThanOrEqual(1);
    const after = await stack.query<{ exportPerson: { records: Held[] } }>(EXPORT, { e: person!.email });
    expect(after.data!.exportPerson.records).toEqual([]);

    const redis = new Redis(REDIS_URL);
    try {
      const rows = await redis.xrange(`${stack.gateway.services.config.keyPrefix}:audit:acme`, '-', '+');
      const text = JSON.stringify(rows);
      expect(text).toContain('person.purged');
      expect(text).toContain(emailDigest(person!.email));
      expect(text.toLowerCase()).not.toContain(person!.email.toLowerCase());
    } finally {
      redis.disconnect();
    }
  });

  it('purge by remote id (what a compliance webhook names) removes that contact; an unknown connection is BAD_USER_INPUT', async () => {
    const contacts = await cachedContacts();
    const target = contacts[contacts.length - 1]!;
    const res = await stack.query<{ purgePerson: { cachedRecordsRemoved: number } }>(PURGE, {
      r: [{ connectionId: 'acme-hubspot', remoteId: target.remoteId }],
    });
    expect(res.errors).toBeUndefined();
    expect(res.data!.purgePerson.cachedRecordsRemoved).toBeGreaterThanOrEqual(1);
    const [gone] = await stack.gateway.services.cache.getRecords({ tenantId: 'acme', connectionId: 'acme-hubspot' }, 'Contact', [target.remoteId]);
    expect(gone).toBeUndefined();
    const foreign = await stack.query(PURGE, { r: [{ connectionId: 'someone-elses', remoteId: '1' }] });
    expect(foreign.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it("the person's manual identity links are exported and purged with them; the link itself is in the audit log", async () => {
    const contacts = await cachedContacts();
    const person = contacts[1]!;
    const other = contacts[2]!;
    const contactId = encodeId('Contact', 'acme-hubspot', person.remoteId);
    const otherId = encodeId('Contact', 'acme-hubspot', other.remoteId);
    // The person's own contact, and another contact linked to the person by hand.
    const link = await stack.query(`mutation($e: EmailAddress!, $ids: [ID!]!) { linkContacts(email: $e, contactIds: $ids) { id } }`, {
      e: person.email,
      ids: [contactId, otherId],
    });
    expect(link.errors, JSON.stringify(link.errors)).toBeUndefined();

    const held = await stack.query<{ exportPerson: { identityLinks: Array<{ personEmail: string; contactId: string; kind: string }> } }>(EXPORT, {
      e: person.email,
    });
    expect(held.errors).toBeUndefined();
    expect(held.data!.exportPerson.identityLinks.map((l) => [l.contactId, l.kind]).sort()).toEqual(
      [
        [contactId, 'LINK'],
        [otherId, 'LINK'],
      ].sort(),
    );

    const purged = await stack.query<{ purgePerson: { identityLinksRemoved: number } }>(PURGE, { e: person.email });
    expect(purged.errors).toBeUndefined();
    expect(purged.data!.purgePerson.identityLinksRemoved).toBe(2);
    const identity = stack.gateway.services.identity;
    expect(await identity.decisions('acme', [person.email.toLowerCase()])).toEqual([[]]);
    expect(await identity.linkedTo('acme', [{ connectionId: 'acme-hubspot', remoteId: other.remoteId }])).toEqual([null]);
    expect(await identity.people('acme')).not.toContain(person.email.toLowerCase());
    const after = await stack.query<{ exportPerson: { identityLinks: unknown[] } }>(EXPORT, { e: person.email });
    expect(after.data!.exportPerson.identityLinks).toEqual([]);

    const audit = await stack.query<{ auditLog: { entries: Array<{ action: string; target: string }> } }>(
      `{ auditLog(first: 10, filter: { actions: ["person.linked", "person.purged"] }) { entries { action target } } }`,
    );
    const about = audit.data!.auditLog.entries.filter((e) => e.target === emailDigest(person.email)).map((e) => e.action);
    expect(about).toEqual(['person.purged', 'person.linked']);
  });
});
