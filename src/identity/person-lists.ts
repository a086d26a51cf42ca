// Person.invoices / Person.orders: the lists of each of the person's contacts, contact by contact
// in the person's order. Every contact's page is read at once (contactList batches them with the
// other contacts of the tick where the connector can: HubSpot's association read), then the pages
// are concatenated. A cursor names the contact (by position) and that contact's own list cursor.
import type { EntityModelMap } from '../../connectors/sdk/models.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput } from '../errors.ts';
import { contactList } from '../loaders/contact-lists.ts';
import { lazyCursors, NO_CURSORS, type PageResult, type Served } from '../models.ts';
import type { ResolvedPerson } from './resolve.ts';

interface PersonCursor {
  /** Position of the contact in the person's matches. */
  i: number;
  /** That contact's list cursor (null: its first page). */
  a: string | null;
}

const encode = (c: PersonCursor) => Buffer.from(JSON.stringify({ p: 1, ...c }), 'utf8').toString('base64url');

function decode(text: string): PersonCursor {
  try {
    const c = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as PersonCursor & { p?: number };
    if (c.p === 1 && Number.isInteger(c.i) && c.i >= 0 && (c.a === null || typeof c.a === 'string')) return { i: c.i, a: c.a };
  } catch {
    // fall through
  }
  throw badUserInput('`after` is not a cursor returned by this field', 'after');
}

export async function personList<E extends 'Invoice' | 'Order'>(
  rc: RequestContext,
  person: ResolvedPerson,
  entity: E,
  first: number,
  after: string | null | undefined,
  path: ReadonlyArray<string | number>,
): Promise<PageResult<Served<EntityModelMap[E]>>> {
  const { maxPageSize } = rc.config.limits;
  if (!Number.isInteger(first) || first < 0 || first > maxPageSize)
    throw badUserInput(`\`first\` must be between 0 and ${maxPageSize} (got ${first})`, 'first');
  const start = after ? decode(after) : { i: 0, a: null };
  const contacts = person.decision.matches.slice(start.i);
  const empty: PageResult<Served<EntityModelMap[E]>> = { nodes: [], cursorAt: NO_CURSORS, hasNextPage: false, hasPreviousPage: false, totalCount: null };
  if (first === 0 || contacts.length === 0) return { ...empty, totalCount: after ? null : 0, hasNextPage: first === 0 && contacts.length > 0 };
  const pages = await Promise.all(contacts.map((m, j) => contactList(rc, entity, m.ref.connectionId, m.ref.remoteId, first, j === 0 ? start.a : null, path)));
  const out: PageResult<Served<EntityModelMap[E]>> = { ...empty, nodes: [] };
  const cursorOf: Array<() => string> = [];
  let remaining = first;
  for (let j = 0; j < pages.length; j++) {
    const page = pages[j]!;
    const i = start.i + j;
    const take = Math.min(remaining, page.nodes.length);
    for (let n = 0; n < take; n++) {
      out.nodes.push(page.nodes[n]!);
      const lastOfContact = n === page.nodes.length - 1 && !page.hasNextPage;
      cursorOf.push(lastOfContact ? () => encode({ i: i + 1, a: null }) : () => encode({ i, a: page.cursorAt(n) }));
    }
    remaining -= take;
    if (remaining === 0) {
      out.hasNextPage = take < page.nodes.length || page.hasNextPage || pages.slice(j + 1).some((p) => p.nodes.length > 0 || p.hasNextPage);
      break;
    }
  }
  out.cursorAt = lazyCursors(out.nodes.length, (k) => (cursorOf[k] as () => string)());
  const totals = pages.map((p) => p.totalCount);
  out.totalCount = !after && totals.every((t): t is number => t !== null) ? totals.reduce((a, b) => a + b, 0) : null;
  return out;
}
