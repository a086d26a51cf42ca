// The part of Stripe's search query language that customer search needs: clauses `field:value`
// (exact), `field~value` (substring, at least 3 characters), numeric comparisons on `created`, a
// leading `-` to negate, joined by spaces / AND or by OR (never both), at most 10 clauses.
// Customer fields: email, name, phone (strings: case-insensitive), metadata['key'] (exact,
// case-sensitive), created (Unix seconds). Anything else fails with a 400 on `query`.
import { StripeApiError, invalidRequest } from './errors.ts';
import type { CustomerObject } from './store.ts';

type Operator = ':' | '~' | '>' | '<' | '>=' | '<=';

interface Clause {
  negated: boolean;
  field: string;
  metadataKey: string | null;
  operator: Operator;
  value: string | number;
}

const STRING_FIELDS = new Set(['email', 'name', 'phone']);
const MAX_CLAUSES = 10;

const badQuery = (message: string) => invalidRequest(message, 'query');

function unsupportedField(field: string): StripeApiError {
  return badQuery(
    `Field \`${field}\` is an unsupported search field for resource \`customers\`. See https://stripe.com/docs/search#query-fields-for-customers for a list of supported fields.`,
  );
}

/** Reads a quoted value starting at `text[start]` (a ' or "); returns it and the index after it. */
function quoted(text: string, start: number): [string, number] {
  const quote = text[start];
  let value = '';
  for (let i = start + 1; i < text.length; i++) {
    const ch = text[i] as string;
    if (ch === '\\' && i + 1 < text.length) {
      value += text[++i];
      continue;
    }
    if (ch === quote) return [value, i + 1];
    value += ch;
  }
  throw badQuery(`The query has an unterminated string starting at character ${start + 1}: ${text}`);
}

const CLAUSE_HEAD = /^(-?)([a-z_]+)(?:\[(['"])(.*?)\3\])?(>=|<=|:|~|>|<)/;

/** Splits a query into clauses and the keyword that joins them. */
function parse(query: string): { clauses: Clause[]; joiner: 'AND' | 'OR' } {
  const clauses: Clause[] = [];
  const joiners = new Set<'AND' | 'OR'>();
  let i = 0;
  while (i < query.length) {
    if (/\s/.test(query[i] as string)) {
      i++;
      continue;
    }
    const keyword = /^(AND|OR)(?=\s)/i.exec(query.slice(i));
    if (keyword && clauses.length > 0) {
      joiners.add((keyword[1] as string).toUpperCase() as 'AND' | 'OR');
      i += keyword[0].length;
      continue;
    }
    const head = CLAUSE_HEAD.exec(query.slice(i));
    if (!head) throw badQuery(`The query could not be parsed at character ${i + 1}: ${query}`);
    const [whole, minus, field, , metadataKey, operator] = head as unknown as [string, string, string, string | undefined, string | undefined, Operator];
    i += whole.length;
    let value: string | number;
    if (query[i] === "'" || query[i] === '"') [value, i] = quoted(query, i);
    else {
      const bare = /^-?\d+/.exec(query.slice(i));
      if (!bare) throw badQuery(`Values in a query must be quoted strings or integers (at character ${i + 1}): ${query}`);
      value = Number(bare[0]);
      i += bare[0].length;
    }
    clauses.push({ negated: minus === '-', field, metadataKey: metadataKey ?? null, operator, value });
  }
  if (clauses.length === 0) throw badQuery('The query is empty.');
  if (clauses.length > MAX_CLAUSES) throw badQuery(`A query can have at most ${MAX_CLAUSES} clauses (it has ${clauses.length}).`);
  if (joiners.size > 1) throw badQuery('A query cannot combine AND and OR.');
  return { clauses, joiner: joiners.has('OR') ? 'OR' : 'AND' };
}

/** Checks one clause against the field's type and turns it into a test on a customer. */
function compile(c: Clause): (customer: CustomerObject) => boolean {
  if (c.field === 'metadata') {
    if (c.metadataKey === null || c.operator !== ':' || typeof c.value !== 'string') throw badQuery("metadata is matched as metadata['key']:'value'.");
    const [key, value] = [c.metadataKey, c.value];
    return (customer) => (customer['metadata'] as Record<string, string> | undefined)?.[key] === value;
  }
  if (c.field === 'created') {
    if (c.operator === '~' || typeof c.value !== 'number') throw badQuery('created is compared with an integer (Unix seconds): created>1700000000.');
    const bound = c.value;
    const comparisons: Record<Exclude<Operator, '~'>, (x: number) => boolean> = {
      ':': (x) => x === bound,
      '>': (x) => x > bound,
      '<': (x) => x < bound,
      '>=': (x) => x >= bound,
      '<=': (x) => x <= bound,
    };
    const test = comparisons[c.operator];
    return (customer) => test(customer.created);
  }
  if (!STRING_FIELDS.has(c.field) || c.metadataKey !== null) throw unsupportedField(c.field);
  if (typeof c.value !== 'string') throw badQuery(`${c.field} is matched against a quoted string.`);
  if (c.operator !== ':' && c.operator !== '~') throw badQuery(`${c.field} supports only the : and ~ operators.`);
  const wanted = c.value.toLowerCase();
  if (c.operator === '~' && wanted.length < 3) throw badQuery('A substring search (~) needs at least 3 characters.');
  const field = c.field;
  return (customer) => {
    const actual = (customer[field] as string | null | undefined)?.toLowerCase();
    if (actual === undefined || actual === null) return false;
    return c.operator === ':' ? actual === wanted : actual.includes(wanted);
  };
}

/** Parses a customer search query into a predicate; throws Stripe's 400 for what it cannot run. */
export function customerSearchPredicate(query: string): (customer: CustomerObject) => boolean {
  const { clauses, joiner } = parse(query);
  const tests = clauses.map((c) => {
    const test = compile(c);
    return c.negated ? (x: CustomerObject) => !test(x) : test;
  });
  return joiner === 'AND' ? (x) => tests.every((t) => t(x)) : (x) => tests.some((t) => t(x));
}

/** `next_page` tokens: the sort key (created, id) of the last result, opaque to clients. */
export function pageToken(last: { created: number; id: string }): string {
  return Buffer.from(JSON.stringify([last.created, last.id])).toString('base64url');
}

export function readPageToken(token: string): { created: number; id: string } {
  try {
    const [created, id] = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as [unknown, unknown];
    if (typeof created === 'number' && typeof id === 'string') return { created, id };
  } catch {
    // fall through to the 400
  }
  throw invalidRequest(`Invalid page: ${token}`, 'page');
}
