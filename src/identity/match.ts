// Cross-provider identity (issue 15): which contacts of a tenant's connections are one person.
// Pure rules, no I/O, so every decision can be explained and tested on its own:
// - the key is the e-mail address, normalized only by trimming and case-folding; nothing
//   provider- or mailbox-specific (no dropping of dots or +tags: "a.b+x@gmail.com" and
//   "ab@gmail.com" are two persons here, because a wrong merge shows one customer another's data);
// - a contact joins the person of an address when one of its e-mails is exactly that address;
//   E.164 phones shared with another joined contact are recorded as a second match;
// - what a merge would get wrong is flagged, not merged silently: a shared role address
//   (billing@, info@, …) or an address attached to several distinct names keeps the contacts
//   found apart (listed as `unmerged`) until an operator links them by hand;
// - manual links and unlinks (links.ts) override everything above.
import type { ContactModel } from '../../connectors/sdk/models.ts';

export type MatchKind = 'EMAIL' | 'PHONE' | 'MANUAL';
export type IdentityFlag = 'ROLE_ADDRESS' | 'SEVERAL_NAMES' | 'PHONE_CONFLICT';

/** A contact named by its connection and remote id. */
export interface ContactRef {
  connectionId: string;
  remoteId: string;
}

export const refKey = (r: ContactRef): string => `${r.connectionId}\u0000${r.remoteId}`;

/** The one normalization of an e-mail address: trimmed and case-folded, nothing else. */
export function normalizeEmail(address: string): string {
  return address.normalize('NFC').trim().toLowerCase();
}

/** A plausible address: one @, something on both sides, no spaces (what we refuse to look up). */
export function isEmailLike(address: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(address) && address.length <= 254;
}

/**
 * Local parts that name a function rather than a human (RFC 2142 mailbox names and the common
 * business ones). Such an address is typically shared by several people or companies' staff.
 */
const ROLE_LOCAL_PARTS = new Set([
  'accounts',
  'accounting',
  'admin',
  'abuse',
  'ap',
  'ar',
  'billing',
  'contact',
  'customerservice',
  'finance',
  'hello',
  'help',
  'hostmaster',
  'hr',
  'info',
  'invoice',
  'invoices',
  'jobs',
  'marketing',
  'no-reply',
  'noreply',
  'office',
  'orders',
  'payables',
  'postmaster',
  'purchasing',
  'receivables',
  'sales',
  'security',
  'service',
  'support',
  'team',
  'webmaster',
]);

/** Whether an address names a role (billing@, info@, …) rather than one person. */
export function isRoleAddress(email: string): boolean {
  const local = normalizeEmail(email).split('@')[0] ?? '';
  return ROLE_LOCAL_PARTS.has(local.split('+')[0] ?? local);
}

/** The contact's display name, or null when the provider holds none. */
export function displayName(c: Pick<ContactModel, 'name' | 'firstName' | 'lastName'>): string | null {
  const name = c.name?.trim() || [c.firstName, c.lastName].filter((p) => p && p.trim()).join(' ');
  return name ? name.replace(/\s+/g, ' ') : null;
}

const nameKey = (name: string) =>
  name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();

/**
 * The words of a contact's name (first and last when the provider has both, else its display
 * name), case- and accent-folded, letters only: "John Turing #30" (QuickBooks keeps display names
 * unique with a suffix) and "Turing, John" give the same words as "John Turing".
 */
function nameTokens(c: Pick<ContactModel, 'name' | 'firstName' | 'lastName'>): Set<string> {
  const text = c.firstName?.trim() && c.lastName?.trim() ? `${c.firstName} ${c.lastName}` : (c.name ?? '');
  return new Set(nameKey(text).match(/\p{L}+/gu) ?? []);
}

/** Two names agree when the words of one are all in the other ("Ada Lovelace" / "Ada King Lovelace"). */
const namesAgree = (a: Set<string>, b: Set<string>) => [...a].every((w) => b.has(w)) || [...b].every((w) => a.has(w));

/** The contact's e-mails, normalized. */
export const emailsOf = (c: Pick<ContactModel, 'emails'>): string[] => c.emails.map((e) => normalizeEmail(e.address));

/** The address a contact is known by: its primary e-mail, else its first. */
export function primaryEmailOf(c: Pick<ContactModel, 'emails'>): string | null {
  const e = c.emails.find((x) => x.primary) ?? c.emails[0];
  return e ? normalizeEmail(e.address) : null;
}

const e164sOf = (c: Pick<ContactModel, 'phones'>): Set<string> => new Set(c.phones.map((p) => p.e164).filter((p): p is string => Boolean(p)));

/** A manual decision about one contact and one person (links.ts stores them). */
export interface ManualDecision {
  contact: ContactRef;
  kind: 'link' | 'unlink';
}

export interface Candidate<C> {
  ref: ContactRef;
  contact: C;
}

/** One contact of a person, and why it belongs. */
export interface PersonMatch<C> {
  contact: C;
  ref: ContactRef;
  on: MatchKind[];
}

export interface PersonDecision<C> {
  email: string;
  /** The contacts that are this person, in connection order. */
  matches: Array<PersonMatch<C>>;
  /** Found by e-mail but held back (a flag below), or taken out by a manual unlink. */
  unmerged: Array<PersonMatch<C> & { reason: IdentityFlag | 'UNLINKED' | 'LINKED_ELSEWHERE' }>;
  flags: IdentityFlag[];
  names: string[];
}

/**
 * Decides who the person of `email` is. `byEmail`: contacts the lookups found for the address
 * (only exact matches are kept); `manual`: the operator's decisions about this person;
 * `linkedElsewhere`: contacts an operator linked to another person (they leave this one);
 * `manualContacts`: the contacts manually linked here, as loaded.
 */
export function decidePerson<C extends Pick<ContactModel, 'emails' | 'phones' | 'name' | 'firstName' | 'lastName'>>(
  email: string,
  byEmail: ReadonlyArray<Candidate<C>>,
  manual: readonly ManualDecision[],
  manualContacts: ReadonlyArray<Candidate<C>>,
  linkedElsewhere: ReadonlySet<string>,
): PersonDecision<C> {
  const address = normalizeEmail(email);
  const unlinked = new Set(manual.filter((d) => d.kind === 'unlink').map((d) => refKey(d.contact)));
  const linked = new Set(manual.filter((d) => d.kind === 'link').map((d) => refKey(d.contact)));
  const unmerged: PersonDecision<C>['unmerged'] = [];
  const seen = new Set<string>();
  const auto: Array<Candidate<C>> = [];
  for (const c of byEmail) {
    const key = refKey(c.ref);
    if (seen.has(key) || !emailsOf(c.contact).includes(address)) continue;
    seen.add(key);
    if (linked.has(key)) continue; // listed with the manual links below
    if (unlinked.has(key)) unmerged.push({ contact: c.contact, ref: c.ref, on: ['EMAIL'], reason: 'UNLINKED' });
    else if (linkedElsewhere.has(key)) unmerged.push({ contact: c.contact, ref: c.ref, on: ['EMAIL'], reason: 'LINKED_ELSEWHERE' });
    else auto.push(c);
  }

  const flags: IdentityFlag[] = [];
  if (isRoleAddress(address)) flags.push('ROLE_ADDRESS');
  const tokenSets = auto.map((c) => nameTokens(c.contact)).filter((t) => t.size > 0);
  if (tokenSets.some((a, i) => tokenSets.slice(i + 1).some((b) => !namesAgree(a, b)))) flags.push('SEVERAL_NAMES');
  const phoneSets = auto.map((c) => e164sOf(c.contact)).filter((s) => s.size > 0);
  if (phoneSets.some((a, i) => phoneSets.slice(i + 1).some((b) => ![...a].some((p) => b.has(p))))) flags.push('PHONE_CONFLICT');
  // A role address or several names: merging two or more contacts could join different people.
  const manualCount = new Set(manualContacts.map((c) => refKey(c.ref)).filter((k) => linked.has(k))).size;
  const holdBack = auto.length > 0 && auto.length + manualCount > 1 && flags.some((f) => f === 'ROLE_ADDRESS' || f === 'SEVERAL_NAMES');

  const matches: Array<PersonMatch<C>> = [];
  if (holdBack) {
    const reason = flags.includes('SEVERAL_NAMES') ? 'SEVERAL_NAMES' : 'ROLE_ADDRESS';
    for (const c of auto) unmerged.push({ contact: c.contact, ref: c.ref, on: ['EMAIL'], reason });
  } else {
    for (const c of auto) matches.push({ contact: c.contact, ref: c.ref, on: ['EMAIL'] });
  }
  const manualSeen = new Set<string>();
  for (const c of manualContacts) {
    const key = refKey(c.ref);
    if (!linked.has(key) || manualSeen.has(key)) continue;
    manualSeen.add(key);
    matches.push({ contact: c.contact, ref: c.ref, on: emailsOf(c.contact).includes(address) ? ['EMAIL', 'MANUAL'] : ['MANUAL'] });
  }
  // Phones corroborate: a contact sharing an E.164 number with another contact of the person.
  for (const m of matches) {
    const mine = e164sOf(m.contact);
    if (matches.some((o) => o !== m && [...e164sOf(o.contact)].some((p) => mine.has(p)))) m.on.push('PHONE');
  }
  const names: string[] = [];
  const nameKeys = new Set<string>();
  for (const m of matches) {
    const n = displayName(m.contact);
    if (n && !nameKeys.has(nameKey(n))) {
      nameKeys.add(nameKey(n));
      names.push(n);
    }
  }
  return { email: address, matches, unmerged, flags, names };
}
