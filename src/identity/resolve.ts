// Resolving a person for one request: the e-mail lookups of every connection (email-lookups.ts,
// batched and cached), the operator's manual decisions (links.ts, one Redis round trip per tick),
// and the rules of match.ts. Memoized per request and address, so `contacts { person }` over a
// page of contacts resolves each person once and asks each connection once per tick.
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import type { GraphQLError } from 'graphql';
import type { RequestContext } from '../context.ts';
import { contactsByEmail } from '../loaders/email-lookups.ts';
import type { ServedContact } from '../models.ts';
import type { StoredDecision } from './links.ts';
import { decidePerson, normalizeEmail, refKey, type Candidate, type ContactRef, type PersonDecision, type PersonMatch } from './match.ts';

export type ServedPersonMatch = PersonMatch<ServedContact>;
export type ServedUnmerged = PersonDecision<ServedContact>['unmerged'][number];

/** Parent of the Person type. */
export interface ResolvedPerson {
  tenantId: string;
  decision: PersonDecision<ServedContact>;
}

interface PerRequest {
  persons: Map<string, Promise<ResolvedPerson>>;
  decisions: DataLoader<string, StoredDecision[]>;
  linkedTo: DataLoader<ContactRef, string | null, string>;
  /** Connections whose lookup failure was already reported in this answer. */
  reported: Set<string>;
}

const state = new WeakMap<RequestContext, PerRequest>();

function stateOf(rc: RequestContext): PerRequest {
  let s = state.get(rc);
  if (!s) {
    const links = rc.services.identity;
    s = {
      persons: new Map(),
      decisions: new DataLoader((emails) => links.decisions(rc.tenant.id, emails)),
      linkedTo: new DataLoader((refs) => links.linkedTo(rc.tenant.id, refs), { cacheKeyFn: refKey }),
      reported: new Set(),
    };
    state.set(rc, s);
  }
  return s;
}

/** Opaque and stable per tenant and address; two tenants' persons never share an id. */
export function personId(tenantId: string, email: string): string {
  return `prs_${createHash('sha256')
    .update(`${tenantId}\u0000${normalizeEmail(email)}`)
    .digest('base64url')
    .slice(0, 24)}`;
}

/** The person of one address (memoized for the request). */
export function resolvePerson(rc: RequestContext, email: string): Promise<ResolvedPerson> {
  const address = normalizeEmail(email);
  const s = stateOf(rc);
  let p = s.persons.get(address);
  if (!p) s.persons.set(address, (p = build(rc, s, address)));
  return p;
}

/** After a manual decision: the next resolution in this request reads the store again. */
export function forgetResolved(rc: RequestContext, emails: readonly string[], contacts: readonly ContactRef[]): void {
  const s = stateOf(rc);
  for (const e of emails) {
    s.persons.delete(normalizeEmail(e));
    s.decisions.clear(normalizeEmail(e));
  }
  for (const c of contacts) s.linkedTo.clear(c);
}

/** The contact's manually linked person's address (null: none). */
export function manualPersonOf(rc: RequestContext, ref: ContactRef): Promise<string | null> {
  return stateOf(rc).linkedTo.load(ref);
}

async function build(rc: RequestContext, s: PerRequest, email: string): Promise<ResolvedPerson> {
  const handles = rc.connections().filter((h) => h.connector.manifest.entities.includes('Contact'));
  const [lookups, decisions] = await Promise.all([Promise.all(handles.map((h) => contactsByEmail(rc, h, email))), s.decisions.load(email)]);
  const byEmail: Array<Candidate<ServedContact>> = [];
  lookups.forEach((found, i) => {
    const handle = handles[i]!;
    if (!Array.isArray(found)) {
      // One report per connection and answer, however many persons it failed for.
      if (!s.reported.has(handle.config.id)) {
        s.reported.add(handle.config.id);
        rc.partialErrors.push(found as GraphQLError);
      }
      return;
    }
    for (const c of found) byEmail.push({ ref: { connectionId: handle.config.id, remoteId: c.source.remoteId }, contact: c });
  });

  // Manually linked contacts, read by id (often already loaded by the lookups above); a linked
  // contact whose connection is gone or whose record was deleted upstream is left out.
  const manualContacts: Array<Candidate<ServedContact>> = [];
  await Promise.all(
    decisions
      .filter((d) => d.kind === 'link')
      .map(async (d) => {
        const handle = rc.connection(d.contact.connectionId);
        if (!handle) return;
        try {
          manualContacts.push({ ref: d.contact, contact: await rc.loaders.loader(handle, 'Contact').load(d.contact.remoteId) });
        } catch {
          // not found or the provider failed: not part of the answer
        }
      }),
  );
  const owners = await s.linkedTo.loadMany(byEmail.map((c) => c.ref));
  const elsewhere = new Set(byEmail.filter((_, i) => typeof owners[i] === 'string' && owners[i] !== email).map((c) => refKey(c.ref)));
  // Keep connection order in the answer, whatever order the reads finished in.
  const order = new Map(handles.map((h, i) => [h.config.id, i]));
  manualContacts.sort((a, b) => (order.get(a.ref.connectionId) ?? 0) - (order.get(b.ref.connectionId) ?? 0));
  return { tenantId: rc.tenant.id, decision: decidePerson(email, byEmail, decisions, manualContacts, elsewhere) };
}

/** Whether the person has anything to show (contacts, held-back contacts, or decisions). */
export const isKnown = (p: ResolvedPerson): boolean => p.decision.matches.length > 0 || p.decision.unmerged.length > 0;
