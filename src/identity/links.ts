// Manual identity decisions (linkContacts / unlinkContacts): an operator says "this contact is
// that person" or "this contact is not". They override the e-mail rules of match.ts, are kept per
// tenant in Redis (shared by replicas, no expiry: a decision stands until changed or purged), and
// every change is audited by the caller (resolvers/person.ts).
//
// Redis layout, all under `<prefix>:identity:{<tenant>}:` (tenant and e-mail URI-encoded; the tenant a hash tag):
//   person:<email>  hash  <connectionId>\0<remoteId> → {"kind":"link"|"unlink","at","actor"}
//   contact         hash  <connectionId>\0<remoteId> → the e-mail of the person it is linked to
//   people          set   e-mails that have decisions (people(filter: { manual: true }))
// A contact is linked to at most one person: linking it elsewhere moves it (one MULTI).
import { hashTag, type RedisClient } from '../util/redis.ts';
import { refKey, type ContactRef, type ManualDecision } from './match.ts';

export interface StoredDecision extends ManualDecision {
  at: string;
  actor: string;
}

export interface IdentityLinks {
  /** The decisions about each of these persons (normalized e-mails), same order. */
  decisions(tenantId: string, emails: readonly string[]): Promise<StoredDecision[][]>;
  /** For each contact, the e-mail of the person it is manually linked to (null: none). */
  linkedTo(tenantId: string, contacts: readonly ContactRef[]): Promise<Array<string | null>>;
  /** Records decisions; a link moves the contact out of any other person it was linked to (returned). */
  decide(tenantId: string, email: string, contacts: readonly ContactRef[], kind: 'link' | 'unlink', actor: string): Promise<{ movedFrom: string[] }>;
  /** E-mails of the tenant's persons that have decisions. */
  people(tenantId: string): Promise<string[]>;
  /** Forgets every decision about the person (purge); returns what was removed. */
  forget(tenantId: string, email: string): Promise<StoredDecision[]>;
  /** Every decision about these contacts, whichever person it names (export, purge). */
  about(tenantId: string, contacts: readonly ContactRef[]): Promise<Array<StoredDecision & { email: string }>>;
  /** Forgets every decision about these contacts; returns how many were removed. */
  forgetContacts(tenantId: string, contacts: readonly ContactRef[]): Promise<number>;
  /** Forgets every decision about contacts of one connection (a provider's account-wide redaction); returns how many. */
  forgetConnection(tenantId: string, connectionId: string): Promise<number>;
}

const parseRef = (field: string): ContactRef => {
  const [connectionId = '', remoteId = ''] = field.split('\u0000');
  return { connectionId, remoteId };
};

export class RedisIdentityLinks implements IdentityLinks {
  constructor(
    private readonly redis: RedisClient,
    private readonly prefix: string,
  ) {}

  private base(tenantId: string): string {
    // One hash tag per tenant: a decision's MULTI spans the person, the contact index and the
    // people set, which must sit in one slot of a Redis Cluster.
    return `${this.prefix}:identity:${hashTag(encodeURIComponent(tenantId))}`;
  }
  private personKey(tenantId: string, email: string): string {
    return `${this.base(tenantId)}:person:${encodeURIComponent(email)}`;
  }

  async decisions(tenantId: string, emails: readonly string[]): Promise<StoredDecision[][]> {
    if (emails.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const e of emails) pipeline.hgetall(this.personKey(tenantId, e));
    const results = (await pipeline.exec()) ?? [];
    return results.map(([err, value]) => {
      if (err) throw err;
      return Object.entries((value ?? {}) as Record<string, string>).map(([field, json]) => ({
        contact: parseRef(field),
        ...(JSON.parse(json) as { kind: 'link' | 'unlink'; at: string; actor: string }),
      }));
    });
  }

  async linkedTo(tenantId: string, contacts: readonly ContactRef[]): Promise<Array<string | null>> {
    if (contacts.length === 0) return [];
    return this.redis.hmget(`${this.base(tenantId)}:contact`, ...contacts.map(refKey));
  }

  async decide(tenantId: string, email: string, contacts: readonly ContactRef[], kind: 'link' | 'unlink', actor: string): Promise<{ movedFrom: string[] }> {
    const index = `${this.base(tenantId)}:contact`;
    const fields = contacts.map(refKey);
    const previous = fields.length ? await this.redis.hmget(index, ...fields) : [];
    const at = new Date().toISOString();
    const tx = this.redis.multi();
    const movedFrom = new Set<string>();
    fields.forEach((field, i) => {
      const before = previous[i];
      if (kind === 'link') {
        if (before && before !== email) {
          tx.hdel(this.personKey(tenantId, before), field);
          movedFrom.add(before);
        }
        tx.hset(index, field, email);
      } else if (before === email) {
        tx.hdel(index, field);
      }
      tx.hset(this.personKey(tenantId, email), field, JSON.stringify({ kind, at, actor }));
    });
    tx.sadd(`${this.base(tenantId)}:people`, email);
    await tx.exec();
    return { movedFrom: [...movedFrom] };
  }

  async people(tenantId: string): Promise<string[]> {
    return (await this.redis.smembers(`${this.base(tenantId)}:people`)).sort();
  }

  async forget(tenantId: string, email: string): Promise<StoredDecision[]> {
    const [removed] = await this.decisions(tenantId, [email]);
    const index = `${this.base(tenantId)}:contact`;
    const tx = this.redis.multi();
    const linked = (removed ?? []).filter((d) => d.kind === 'link').map((d) => refKey(d.contact));
    // Only index entries that still point at this person (a later link elsewhere keeps its own).
    const current = linked.length ? await this.redis.hmget(index, ...linked) : [];
    linked.forEach((field, i) => current[i] === email && tx.hdel(index, field));
    tx.del(this.personKey(tenantId, email));
    tx.srem(`${this.base(tenantId)}:people`, email);
    await tx.exec();
    return removed ?? [];
  }

  async about(tenantId: string, contacts: readonly ContactRef[]): Promise<Array<StoredDecision & { email: string }>> {
    const wanted = new Set(contacts.map(refKey));
    if (wanted.size === 0) return [];
    const out: Array<StoredDecision & { email: string }> = [];
    const people = await this.people(tenantId);
    const all = await this.decisions(tenantId, people);
    people.forEach((email, i) => {
      for (const d of all[i] ?? []) if (wanted.has(refKey(d.contact))) out.push({ ...d, email });
    });
    return out;
  }

  async forgetContacts(tenantId: string, contacts: readonly ContactRef[]): Promise<number> {
    const wanted = new Set(contacts.map(refKey));
    return wanted.size ? this.forgetWhere(tenantId, (field) => wanted.has(field)) : 0;
  }

  async forgetConnection(tenantId: string, connectionId: string): Promise<number> {
    return this.forgetWhere(tenantId, (field) => field.startsWith(`${connectionId}\u0000`));
  }

  /** Removes the decisions about contacts whose field matches, from every person and the index. */
  private async forgetWhere(tenantId: string, mine: (field: string) => boolean): Promise<number> {
    let removed = 0;
    for (const email of await this.people(tenantId)) {
      const key = this.personKey(tenantId, email);
      const fields = (await this.redis.hkeys(key)).filter(mine);
      if (fields.length) removed += await this.redis.hdel(key, ...fields);
      if ((await this.redis.hlen(key)) === 0) await this.redis.srem(`${this.base(tenantId)}:people`, email);
    }
    const index = `${this.base(tenantId)}:contact`;
    const indexed = (await this.redis.hkeys(index)).filter(mine);
    if (indexed.length) await this.redis.hdel(index, ...indexed);
    return removed;
  }
}

/** The same contract in process (the embedded default without Redis). */
export class MemoryIdentityLinks implements IdentityLinks {
  private readonly persons = new Map<string, Map<string, StoredDecision>>();
  private readonly index = new Map<string, string>();

  private person(tenantId: string, email: string): Map<string, StoredDecision> {
    const key = `${tenantId}\u0000${email}`;
    let p = this.persons.get(key);
    if (!p) this.persons.set(key, (p = new Map()));
    return p;
  }

  async decisions(tenantId: string, emails: readonly string[]): Promise<StoredDecision[][]> {
    return emails.map((e) => [...(this.persons.get(`${tenantId}\u0000${e}`)?.values() ?? [])]);
  }

  async linkedTo(tenantId: string, contacts: readonly ContactRef[]): Promise<Array<string | null>> {
    return contacts.map((c) => this.index.get(`${tenantId}\u0000${refKey(c)}`) ?? null);
  }

  async decide(tenantId: string, email: string, contacts: readonly ContactRef[], kind: 'link' | 'unlink', actor: string): Promise<{ movedFrom: string[] }> {
    const at = new Date().toISOString();
    const movedFrom = new Set<string>();
    for (const contact of contacts) {
      const indexKey = `${tenantId}\u0000${refKey(contact)}`;
      const before = this.index.get(indexKey);
      if (kind === 'link') {
        if (before && before !== email) {
          this.person(tenantId, before).delete(refKey(contact));
          movedFrom.add(before);
        }
        this.index.set(indexKey, email);
      } else if (before === email) {
        this.index.delete(indexKey);
      }
      this.person(tenantId, email).set(refKey(contact), { contact, kind, at, actor });
    }
    return { movedFrom: [...movedFrom] };
  }

  async people(tenantId: string): Promise<string[]> {
    return [...this.persons.entries()]
      .filter(([k, v]) => k.startsWith(`${tenantId}\u0000`) && v.size > 0)
      .map(([k]) => k.slice(tenantId.length + 1))
      .sort();
  }

  async forget(tenantId: string, email: string): Promise<StoredDecision[]> {
    const removed = [...(this.persons.get(`${tenantId}\u0000${email}`)?.values() ?? [])];
    this.persons.delete(`${tenantId}\u0000${email}`);
    for (const d of removed) {
      const indexKey = `${tenantId}\u0000${refKey(d.contact)}`;
      if (this.index.get(indexKey) === email) this.index.delete(indexKey);
    }
    return removed;
  }

  async about(tenantId: string, contacts: readonly ContactRef[]): Promise<Array<StoredDecision & { email: string }>> {
    const wanted = new Set(contacts.map(refKey));
    const out: Array<StoredDecision & { email: string }> = [];
    for (const [key, person] of this.persons) {
      if (!key.startsWith(`${tenantId}\u0000`)) continue;
      for (const [field, d] of person) if (wanted.has(field)) out.push({ ...d, email: key.slice(tenantId.length + 1) });
    }
    return out;
  }

  async forgetContacts(tenantId: string, contacts: readonly ContactRef[]): Promise<number> {
    const wanted = new Set(contacts.map(refKey));
    return this.forgetWhere(tenantId, (field) => wanted.has(field));
  }

  async forgetConnection(tenantId: string, connectionId: string): Promise<number> {
    return this.forgetWhere(tenantId, (field) => field.startsWith(`${connectionId}\u0000`));
  }

  private forgetWhere(tenantId: string, mine: (field: string) => boolean): number {
    let removed = 0;
    for (const [key, person] of this.persons) {
      if (!key.startsWith(`${tenantId}\u0000`)) continue;
      for (const [field] of person) if (mine(field) && person.delete(field)) removed++;
    }
    for (const key of this.index.keys()) if (key.startsWith(`${tenantId}\u0000`) && mine(key.slice(tenantId.length + 1))) this.index.delete(key);
    return removed;
  }
}
