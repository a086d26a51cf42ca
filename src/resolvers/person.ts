// Person (cross-provider identity): thin resolvers over src/identity/. Manual decisions need the
// admin scope (every mutation does), are recorded in the tenant's audit log with a digest of the
// address (never the address: the trail outlives a purge), and start a new list generation of
// the contacts' connections, so cached answers that showed the old person are not served again.
import { GraphQLError } from 'graphql';
import type { RequestContext } from '../context.ts';
import { badUserInput } from '../errors.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { decodeId, encodeId } from '../ids.ts';
import { isEmailLike, normalizeEmail, primaryEmailOf, refKey, type ContactRef } from '../identity/match.ts';
import { personList } from '../identity/person-lists.ts';
import { forgetResolved, isKnown, manualPersonOf, personId, resolvePerson, type ResolvedPerson } from '../identity/resolve.ts';
import { emailDigest } from '../privacy/purge.ts';
import { pathOf } from './common.ts';
import { requester } from './connections.ts';

/** Persons one `people` query resolves at most. */
export const MAX_PEOPLE = 100;
/** Contacts one link or unlink names at most. */
export const MAX_LINKED_PER_CALL = 50;

function address(email: string, argument: string): string {
  const normalized = normalizeEmail(email);
  if (!isEmailLike(normalized)) throw badUserInput(`"${email.slice(0, 80)}" is not an e-mail address`, argument);
  return normalized;
}

/** The named contacts, each of this tenant and existing at its provider. */
async function contactRefs(rc: RequestContext, ids: readonly string[]): Promise<ContactRef[]> {
  if (ids.length === 0 || ids.length > MAX_LINKED_PER_CALL)
    throw badUserInput(`contactIds takes 1 to ${MAX_LINKED_PER_CALL} ids (got ${ids.length})`, 'contactIds');
  const refs = ids.map((id) => {
    const decoded = decodeId(id);
    if (!decoded || decoded.type !== 'Contact') throw badUserInput(`"${id.slice(0, 80)}" is not a Contact id`, 'contactIds');
    const handle = rc.connection(decoded.connectionId);
    if (!handle) throw badUserInput(`no Contact with id "${id.slice(0, 80)}"`, 'contactIds');
    return { ref: { connectionId: decoded.connectionId, remoteId: decoded.remoteId }, handle, id };
  });
  await Promise.all(
    refs.map(async ({ ref, handle, id }) => {
      try {
        await rc.loaders.loader(handle, 'Contact').load(ref.remoteId);
      } catch (err) {
        if ((err as GraphQLError).extensions?.code === 'UPSTREAM_NOT_FOUND') throw badUserInput(`no Contact with id "${id.slice(0, 80)}"`, 'contactIds');
        throw err;
      }
    }),
  );
  return [...new Map(refs.map((r) => [refKey(r.ref), r.ref])).values()];
}

async function decide(rc: RequestContext, email: string, ids: readonly string[], kind: 'link' | 'unlink'): Promise<ResolvedPerson> {
  const person = address(email, 'email');
  const refs = await contactRefs(rc, ids);
  const who = requester(rc);
  const { movedFrom } = await rc.services.identity.decide(rc.tenant.id, person, refs, kind, who.actor);
  await rc.services.audit.record({
    tenantId: rc.tenant.id,
    action: kind === 'link' ? 'person.linked' : 'person.unlinked',
    actor: who.actor,
    requestId: who.requestId,
    outcome: 'success',
    target: emailDigest(person),
    detail: {
      contacts: refs.map((r) => encodeId('Contact', r.connectionId, r.remoteId)),
      ...(movedFrom.length ? { movedFrom: movedFrom.map(emailDigest) } : {}),
    },
  });
  for (const connectionId of new Set(refs.map((r) => r.connectionId)))
    await rc.services.cache.invalidateLists({ tenantId: rc.tenant.id, connectionId }, 'Contact');
  forgetResolved(rc, [person, ...movedFrom], refs);
  return resolvePerson(rc, person);
}

export const personResolvers: Resolvers = {
  Query: {
    person: async (_, { email }, rc) => {
      const person = await resolvePerson(rc, address(email, 'email'));
      return isKnown(person) ? person : null;
    },
    people: async (_, { filter }, rc) => {
      const emails = new Set((filter.emails ?? []).map((e) => address(e, 'filter')));
      if (filter.manuallyLinked) for (const e of await rc.services.identity.people(rc.tenant.id)) emails.add(e);
      if (!filter.emails && !filter.manuallyLinked) throw badUserInput('name the persons: filter.emails and/or filter.manuallyLinked', 'filter');
      if (emails.size > MAX_PEOPLE) throw badUserInput(`people resolves at most ${MAX_PEOPLE} persons (got ${emails.size})`, 'filter');
      const persons = await Promise.all([...emails].map((e) => resolvePerson(rc, e)));
      return persons.filter(isKnown);
    },
  },
  Mutation: {
    linkContacts: (_, { email, contactIds }, rc) => decide(rc, email, contactIds, 'link'),
    unlinkContacts: (_, { email, contactIds }, rc) => decide(rc, email, contactIds, 'unlink'),
  },
  Contact: {
    person: async (c, _, rc) => {
      const ref = { connectionId: c.served.connectionId, remoteId: c.source.remoteId };
      const email = (await manualPersonOf(rc, ref)) ?? primaryEmailOf(c);
      if (!email) return null;
      const person = await resolvePerson(rc, email);
      return person.decision.matches.some((m) => refKey(m.ref) === refKey(ref)) ? person : null;
    },
  },
  Person: {
    id: (p) => personId(p.tenantId, p.decision.email),
    primaryEmail: (p) => p.decision.email,
    names: (p) => p.decision.names,
    contacts: (p) => p.decision.matches.map((m) => m.contact),
    matchedOn: (p) => p.decision.matches,
    unmerged: (p) => p.decision.unmerged,
    flags: (p) => p.decision.flags,
    invoices: (p, { first, after }, rc, info) => personList(rc, p, 'Invoice', first ?? rc.config.limits.defaultPageSize, after, pathOf(info)),
    orders: (p, { first, after }, rc, info) => personList(rc, p, 'Order', first ?? rc.config.limits.defaultPageSize, after, pathOf(info)),
  },
};
