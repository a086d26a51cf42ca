// The QuickBooks Online query language as the emulator understands it: a read-only SQL subset,
// `SELECT * | COUNT(*) FROM <Entity> [WHERE <cond> {AND <cond>}] [ORDERBY <field> [ASC|DESC]]
// [STARTPOSITION n] [MAXRESULTS n]`, conditions `=`, `<`, `>`, `<=`, `>=`, `IN (…)` and `LIKE`
// (with `%`). There is no OR, no join and no projection beyond `*`/`COUNT(*)` here. String values
// are single-quoted with `\'` escaping an apostrophe (as node-quickbooks quotes them). Keywords and
// field names are case-insensitive. Errors carry the Fault code QuickBooks answers with: 4000 for
// a query it cannot parse, 4001 for one it parses but refuses (unknown property, bad MAXRESULTS).

export class QueryError extends Error {
  constructor(
    readonly code: '4000' | '4001',
    readonly detail: string,
  ) {
    super(detail);
  }
}

export type QueryValue = string | number | boolean;
export interface Condition {
  field: string;
  op: '=' | '<' | '>' | '<=' | '>=' | 'IN' | 'LIKE';
  values: QueryValue[];
}
export interface ParsedQuery {
  count: boolean;
  entity: string;
  where: Condition[];
  orderBy: { field: string; desc: boolean } | null;
  /** 1-based. */
  startPosition: number;
  maxResults: number;
}

/** QuickBooks answers at most this many rows per query; without MAXRESULTS it answers 100. */
export const MAX_RESULTS = 1000;
export const DEFAULT_MAX_RESULTS = 100;

type Token = { kind: 'word' | 'string' | 'number' | 'symbol'; text: string; at: number };

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const c = q[i] as string;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    if (c === "'") {
      let text = '';
      let j = i + 1;
      for (;;) {
        if (j >= q.length) throw new QueryError('4000', `QueryParserError: Lexical error at column ${i + 1}: unterminated string literal`);
        const d = q[j] as string;
        if (d === '\\' && j + 1 < q.length) {
          text += q[j + 1];
          j += 2;
          continue;
        }
        if (d === "'") break;
        text += d;
        j++;
      }
      out.push({ kind: 'string', text, at: i });
      i = j + 1;
      continue;
    }
    const two = q.slice(i, i + 2);
    if (two === '<=' || two === '>=' || two === '!=' || two === '<>') {
      out.push({ kind: 'symbol', text: two, at: i });
      i += 2;
      continue;
    }
    if ('=<>(),*'.includes(c)) {
      out.push({ kind: 'symbol', text: c, at: i });
      i++;
      continue;
    }
    const num = /^-?\d+(\.\d+)?/.exec(q.slice(i));
    if (num && (c === '-' || /\d/.test(c))) {
      out.push({ kind: 'number', text: num[0], at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (word) {
      out.push({ kind: 'word', text: word[0], at: i });
      i += word[0].length;
      continue;
    }
    throw new QueryError('4000', `QueryParserError: Encountered " "${c}" at line 1, column ${i + 1}.`);
  }
  return out;
}

export function parseQuery(text: string): ParsedQuery {
  const tokens = tokenize(text);
  let p = 0;
  const peek = () => tokens[p];
  const unexpected = (expected: string): never => {
    const t = peek();
    throw new QueryError(
      '4000',
      t
        ? `QueryParserError: Encountered " ${t.kind} "${t.text}"" at line 1, column ${t.at + 1}. Was expecting: ${expected}`
        : `QueryParserError: Encountered "<EOF>". Was expecting: ${expected}`,
    );
  };
  const keyword = (k: string) => {
    const t = peek();
    if (t?.kind === 'word' && t.text.toUpperCase() === k) {
      p++;
      return true;
    }
    return false;
  };
  const expectKeyword = (k: string) => {
    if (!keyword(k)) unexpected(`"${k}"`);
  };
  const symbol = (s: string) => {
    const t = peek();
    if (t?.kind === 'symbol' && t.text === s) {
      p++;
      return true;
    }
    return false;
  };
  const integer = (what: string): number => {
    const t = peek();
    if (t?.kind !== 'number' || !/^\d+$/.test(t.text)) return unexpected(`an integer for ${what}`);
    p++;
    return Number(t.text);
  };
  const value = (): QueryValue => {
    const t = peek();
    if (!t) return unexpected('a value');
    if (t.kind === 'string') {
      p++;
      return t.text;
    }
    if (t.kind === 'number') {
      p++;
      return Number(t.text);
    }
    if (t.kind === 'word' && /^(true|false)$/i.test(t.text)) {
      p++;
      return t.text.toLowerCase() === 'true';
    }
    return unexpected('a quoted string, a number, true or false');
  };

  expectKeyword('SELECT');
  let count = false;
  if (symbol('*')) count = false;
  else if (keyword('COUNT')) {
    if (!symbol('(') || !symbol('*') || !symbol(')')) unexpected('"(*)"');
    count = true;
  } else unexpected('"*" or "count(*)"');
  expectKeyword('FROM');
  const entityToken = peek();
  if (entityToken?.kind !== 'word') return unexpected('an entity name');
  p++;
  const where: Condition[] = [];
  if (keyword('WHERE')) {
    for (;;) {
      const f = peek();
      if (f?.kind !== 'word') return unexpected('a property name');
      p++;
      const opToken = peek();
      let op: Condition['op'];
      let values: QueryValue[];
      if (keyword('IN')) {
        op = 'IN';
        if (!symbol('(')) unexpected('"("');
        values = [value()];
        while (symbol(',')) values.push(value());
        if (!symbol(')')) unexpected('")" or ","');
      } else if (keyword('LIKE')) {
        op = 'LIKE';
        values = [value()];
      } else if (opToken?.kind === 'symbol' && ['=', '<', '>', '<=', '>='].includes(opToken.text)) {
        p++;
        op = opToken.text as Condition['op'];
        values = [value()];
      } else return unexpected('"=", "<", ">", "<=", ">=", "IN" or "LIKE"');
      where.push({ field: f.text, op, values });
      if (keyword('AND')) continue;
      break;
    }
  }
  let orderBy: ParsedQuery['orderBy'] = null;
  if (keyword('ORDERBY') || (keyword('ORDER') && (expectKeyword('BY'), true))) {
    const f = peek();
    if (f?.kind !== 'word') return unexpected('a property name');
    p++;
    const desc = keyword('DESC') ? true : (keyword('ASC'), false);
    orderBy = { field: f.text, desc };
  }
  let startPosition = 1;
  let maxResults = DEFAULT_MAX_RESULTS;
  for (;;) {
    if (keyword('STARTPOSITION')) startPosition = integer('STARTPOSITION');
    else if (keyword('MAXRESULTS')) maxResults = integer('MAXRESULTS');
    else break;
  }
  if (p < tokens.length) unexpected('"AND", "ORDERBY", "STARTPOSITION", "MAXRESULTS" or the end of the query');
  if (startPosition < 1) throw new QueryError('4001', `QueryValidationError: STARTPOSITION must be 1 or more (got ${startPosition})`);
  if (maxResults < 1 || maxResults > MAX_RESULTS)
    throw new QueryError('4001', `QueryValidationError: MAXRESULTS must be between 1 and ${MAX_RESULTS} (got ${maxResults})`);
  return { count, entity: entityToken.text, where, orderBy, startPosition, maxResults };
}

/** A record's value for a queryable property, case-insensitively; undefined when it is not queryable. */
export type PropertyReader = (record: Record<string, unknown>, field: string) => QueryValue | null | undefined;

function compare(a: QueryValue, b: QueryValue): number {
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' || typeof b === 'boolean') return a === b ? 0 : 1;
  const sa = String(a);
  const sb = String(b);
  // Instants compare as instants (2026-01-01T00:00:00-08:00 vs …Z).
  const da = Date.parse(sa);
  const db = Date.parse(sb);
  if (/^\d{4}-\d{2}-\d{2}/.test(sa) && /^\d{4}-\d{2}-\d{2}/.test(sb) && !Number.isNaN(da) && !Number.isNaN(db)) return da - db;
  // Ids are numeric strings: compare numerically when both are.
  if (/^\d+$/.test(sa) && /^\d+$/.test(sb)) return Number(BigInt(sa) - BigInt(sb));
  return sa.toLowerCase() < sb.toLowerCase() ? -1 : sa.toLowerCase() > sb.toLowerCase() ? 1 : 0;
}

function like(value: string, pattern: string): boolean {
  const re = new RegExp(`^${pattern.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/%/g, '.*')}$`, 'i');
  return re.test(value);
}

/** Runs a parsed query over `records`: filter, order, page. Unknown properties are refused (4001). */
export function runQuery(
  q: ParsedQuery,
  records: Array<Record<string, unknown>>,
  read: PropertyReader,
): { rows: Array<Record<string, unknown>>; total: number } {
  const probe = records[0] ?? {};
  for (const c of q.where) {
    if (read(probe, c.field) === undefined) throw new QueryError('4001', `QueryValidationError: property '${c.field}' is not queryable`);
  }
  if (q.orderBy && read(probe, q.orderBy.field) === undefined)
    throw new QueryError('4001', `QueryValidationError: property '${q.orderBy.field}' is not queryable`);
  const hit = records.filter((r) =>
    q.where.every((c) => {
      const v = read(r, c.field);
      if (v === null || v === undefined) return false;
      const [first] = c.values as [QueryValue];
      switch (c.op) {
        case '=':
          return compare(v, first) === 0;
        case '<':
          return compare(v, first) < 0;
        case '>':
          return compare(v, first) > 0;
        case '<=':
          return compare(v, first) <= 0;
        case '>=':
          return compare(v, first) >= 0;
        case 'IN':
          return c.values.some((x) => compare(v, x) === 0);
        case 'LIKE':
          return like(String(v), String(first));
      }
    }),
  );
  const order = q.orderBy;
  if (order) {
    hit.sort((a, b) => {
      const x = read(a, order.field);
      const y = read(b, order.field);
      const c = x == null ? (y == null ? 0 : -1) : y == null ? 1 : compare(x, y);
      return order.desc ? -c : c;
    });
  }
  return { rows: hit.slice(q.startPosition - 1, q.startPosition - 1 + q.maxResults), total: hit.length };
}
