// The SOQL the emulator understands: SELECT fields FROM object [WHERE …] [ORDER BY …] [LIMIT n],
// with =, !=, <, <=, >, >=, LIKE, IN (…), AND / OR / NOT and parentheses. Parsed strictly, like
// Salesforce: unknown fields and objects, a dateTime compared with a quoted string, a string
// compared with an unquoted value, an unknown escape sequence, AND mixed with OR without
// parentheses — each is refused with Salesforce's error code (MALFORMED_QUERY, INVALID_FIELD,
// INVALID_TYPE). What the emulator does not implement (relationship fields, subqueries,
// aggregates, OFFSET, date literals such as LAST_N_DAYS) is refused as MALFORMED_QUERY naming it.

export type FieldType = 'id' | 'string' | 'datetime' | 'date' | 'number' | 'boolean';
export type SObjectSchema = Record<string, FieldType>;

export class SoqlError extends Error {
  constructor(
    readonly errorCode: 'MALFORMED_QUERY' | 'INVALID_FIELD' | 'INVALID_TYPE' | 'INVALID_QUERY_FILTER_OPERATOR',
    message: string,
  ) {
    super(message);
  }
}

type Token =
  | { kind: 'word'; text: string; pos: number }
  | { kind: 'string'; value: string; pos: number }
  | { kind: 'number'; text: string; pos: number }
  | { kind: 'datetime'; text: string; pos: number }
  | { kind: 'date'; text: string; pos: number }
  | { kind: 'punct'; text: string; pos: number };

// SOQL's escape sequences (upper case too), \uXXXX, and \_ / \% (kept escaped for LIKE; this emulator's LIKE treats them literally).
const ESCAPES: Record<string, string> = {
  n: '\n',
  N: '\n',
  r: '\r',
  R: '\r',
  t: '\t',
  T: '\t',
  b: '\b',
  B: '\b',
  f: '\f',
  F: '\f',
  '"': '"',
  "'": "'",
  '\\': '\\',
  _: '_',
  '%': '%',
};

function tokenize(q: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < q.length) {
    const ch = q[i] as string;
    if (/\s/.test(ch)) {
      i++;
      continue;
    }
    const start = i;
    if (ch === "'") {
      let value = '';
      i++;
      for (;;) {
        if (i >= q.length) throw malformed(q, start, 'unterminated string literal');
        const c = q[i] as string;
        if (c === '\\') {
          const next = q[i + 1] ?? '';
          const unicode = next === 'u' ? /^[0-9a-fA-F]{4}/.exec(q.slice(i + 2)) : null;
          if (unicode) {
            value += String.fromCharCode(parseInt(unicode[0], 16));
            i += 6;
            continue;
          }
          const mapped = ESCAPES[next];
          if (mapped === undefined) throw malformed(q, i, `Invalid string literal '\\${next}'. Illegal character sequence '\\${next}' in string literal.`);
          value += mapped;
          i += 2;
          continue;
        }
        if (c === "'") {
          i++;
          break;
        }
        value += c;
        i++;
      }
      out.push({ kind: 'string', value, pos: start });
      continue;
    }
    const dt = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d{1,3})?(?:Z|[+-]\d{2}:\d{2})/.exec(q.slice(i));
    if (dt) {
      out.push({ kind: 'datetime', text: dt[0], pos: start });
      i += dt[0].length;
      continue;
    }
    const d = /^\d{4}-\d{2}-\d{2}(?![\dT:])/.exec(q.slice(i));
    if (d) {
      out.push({ kind: 'date', text: d[0], pos: start });
      i += d[0].length;
      continue;
    }
    const num = /^-?\d+(?:\.\d+)?(?![\w.])/.exec(q.slice(i));
    if (num) {
      out.push({ kind: 'number', text: num[0], pos: start });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_][A-Za-z0-9_.]*/.exec(q.slice(i));
    if (word) {
      out.push({ kind: 'word', text: word[0], pos: start });
      i += word[0].length;
      continue;
    }
    const punct = /^(<=|>=|!=|<>|[=<>(),])/.exec(q.slice(i));
    if (punct) {
      out.push({ kind: 'punct', text: punct[0], pos: start });
      i += punct[0].length;
      continue;
    }
    throw malformed(q, i, `unexpected token: '${ch}'`);
  }
  return out;
}

/** Salesforce's MALFORMED_QUERY message: the query, a caret line and the position. */
function malformed(q: string, pos: number, what: string): SoqlError {
  return new SoqlError('MALFORMED_QUERY', `\n${q}\n${' '.repeat(Math.max(0, pos))}^\nERROR at Row:1:Column:${pos + 1}\n${what}`);
}

export type Value = string | number | boolean | null;
type Literal = { kind: 'string' | 'number' | 'datetime' | 'date' | 'boolean' | 'null'; value: Value };

export type Condition =
  | { op: 'and' | 'or'; parts: Condition[] }
  | { op: 'not'; part: Condition }
  | { op: 'cmp'; field: string; cmp: string; value: Value; type: FieldType }
  | { op: 'in'; field: string; values: Value[]; negate: boolean; type: FieldType };

export interface ParsedQuery {
  object: string;
  fields: string[];
  where: Condition | null;
  orderBy: Array<{ field: string; desc: boolean; type: FieldType }>;
  limit: number | null;
}

const RESERVED = new Set([
  'SELECT',
  'FROM',
  'WHERE',
  'ORDER',
  'BY',
  'LIMIT',
  'AND',
  'OR',
  'NOT',
  'IN',
  'ASC',
  'DESC',
  'LIKE',
  'NULLS',
  'FIRST',
  'LAST',
  'OFFSET',
  'GROUP',
  'HAVING',
]);

export function parseSoql(q: string, schemas: Record<string, SObjectSchema>): ParsedQuery {
  const tokens = tokenize(q);
  let i = 0;
  const peek = () => tokens[i];
  const isWord = (t: Token | undefined, w: string) => t?.kind === 'word' && t.text.toUpperCase() === w;
  const expectWord = (w: string) => {
    const t = tokens[i];
    if (!isWord(t, w)) throw malformed(q, t?.pos ?? q.length, `unexpected token: ${t ? `'${tokenText(t)}'` : '<EOF>'} (expecting '${w}')`);
    i++;
  };
  const expectPunct = (p: string) => {
    const t = tokens[i];
    if (t?.kind !== 'punct' || t.text !== p)
      throw malformed(q, t?.pos ?? q.length, `unexpected token: ${t ? `'${tokenText(t)}'` : '<EOF>'} (expecting '${p}')`);
    i++;
  };

  expectWord('SELECT');
  const rawFields: Array<{ name: string; pos: number }> = [];
  for (;;) {
    const t = tokens[i];
    if (t?.kind === 'punct' && t.text === '(') throw malformed(q, t.pos, 'subqueries are not emulated');
    if (t?.kind !== 'word' || RESERVED.has(t.text.toUpperCase()))
      throw malformed(q, t?.pos ?? q.length, `unexpected token: ${t ? `'${tokenText(t)}'` : '<EOF>'}`);
    if (isWord(tokens[i + 1], 'FROM') || (tokens[i + 1]?.kind === 'punct' && (tokens[i + 1] as Token & { text: string }).text === ',')) {
      rawFields.push({ name: t.text, pos: t.pos });
      i++;
    } else if (tokens[i + 1]?.kind === 'punct' && (tokens[i + 1] as Token & { text: string }).text === '(') {
      throw malformed(q, t.pos, 'aggregate and function calls are not emulated');
    } else throw malformed(q, tokens[i + 1]?.pos ?? q.length, `unexpected token: ${tokens[i + 1] ? `'${tokenText(tokens[i + 1] as Token)}'` : '<EOF>'}`);
    if (isWord(peek(), 'FROM')) break;
    expectPunct(',');
  }
  expectWord('FROM');
  const objTok = tokens[i];
  if (objTok?.kind !== 'word') throw malformed(q, objTok?.pos ?? q.length, 'unexpected token: <EOF>');
  i++;
  const schemaName = Object.keys(schemas).find((n) => n.toLowerCase() === objTok.text.toLowerCase());
  if (!schemaName)
    throw new SoqlError(
      'INVALID_TYPE',
      `\n${q}\n${' '.repeat(objTok.pos)}^\nERROR at Row:1:Column:${objTok.pos + 1}\nsObject type '${objTok.text}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names.`,
    );
  const schema = schemas[schemaName] as SObjectSchema;
  const field = (name: string, pos: number): { name: string; type: FieldType } => {
    if (name.includes('.')) throw malformed(q, pos, `relationship fields are not emulated: ${name}`);
    const known = Object.keys(schema).find((f) => f.toLowerCase() === name.toLowerCase());
    if (!known)
      throw new SoqlError(
        'INVALID_FIELD',
        `\n${q}\n${' '.repeat(pos)}^\nERROR at Row:1:Column:${pos + 1}\nNo such column '${name}' on entity '${schemaName}'. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names.`,
      );
    return { name: known, type: schema[known] as FieldType };
  };
  const fields = rawFields.map((f) => field(f.name, f.pos).name);
  if (new Set(fields).size !== fields.length) {
    const dup = fields.find((f, k) => fields.indexOf(f) !== k) as string;
    throw malformed(q, 0, `duplicate field selected: ${dup}`);
  }

  const literal = (): { lit: Literal; pos: number } => {
    const t = tokens[i];
    if (!t) throw malformed(q, q.length, 'unexpected token: <EOF>');
    i++;
    if (t.kind === 'string') return { lit: { kind: 'string', value: t.value }, pos: t.pos };
    if (t.kind === 'number') return { lit: { kind: 'number', value: Number(t.text) }, pos: t.pos };
    if (t.kind === 'datetime') return { lit: { kind: 'datetime', value: t.text }, pos: t.pos };
    if (t.kind === 'date') return { lit: { kind: 'date', value: t.text }, pos: t.pos };
    if (t.kind === 'word') {
      const u = t.text.toUpperCase();
      if (u === 'TRUE' || u === 'FALSE') return { lit: { kind: 'boolean', value: u === 'TRUE' }, pos: t.pos };
      if (u === 'NULL') return { lit: { kind: 'null', value: null }, pos: t.pos };
      throw malformed(q, t.pos, `date literals and bind variables are not emulated: ${t.text}`);
    }
    throw malformed(q, t.pos, `unexpected token: '${tokenText(t)}'`);
  };
  const checkType = (f: { name: string; type: FieldType }, lit: Literal, pos: number): Value => {
    if (lit.kind === 'null') return null;
    const ok =
      ((f.type === 'id' || f.type === 'string') && lit.kind === 'string') ||
      (f.type === 'datetime' && lit.kind === 'datetime') ||
      (f.type === 'date' && lit.kind === 'date') ||
      (f.type === 'number' && lit.kind === 'number') ||
      (f.type === 'boolean' && lit.kind === 'boolean');
    if (ok) {
      if (f.type === 'id' && !/^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(lit.value as string))
        throw new SoqlError(
          'INVALID_QUERY_FILTER_OPERATOR',
          `\n${q}\n${' '.repeat(pos)}^\nERROR at Row:1:Column:${pos + 1}\ninvalid ID field: ${String(lit.value)}`,
        );
      return lit.value;
    }
    if (f.type === 'datetime' || f.type === 'date')
      throw new SoqlError(
        'INVALID_FIELD',
        `\n${q}\n${' '.repeat(pos)}^\nERROR at Row:1:Column:${pos + 1}\nvalue of filter criterion for field '${f.name}' must be of type ${f.type === 'datetime' ? 'dateTime' : 'date'} and should not be enclosed in quotes`,
      );
    throw malformed(
      q,
      pos,
      `value of filter criterion for field '${f.name}' must be of type ${f.type} and should${f.type === 'string' || f.type === 'id' ? '' : ' not'} be enclosed in quotes`,
    );
  };

  const primary = (): Condition => {
    const t = tokens[i];
    if (t?.kind === 'punct' && t.text === '(') {
      i++;
      const inner = expression();
      expectPunct(')');
      return inner;
    }
    if (isWord(t, 'NOT')) {
      i++;
      return { op: 'not', part: primary() };
    }
    if (t?.kind !== 'word' || RESERVED.has(t.text.toUpperCase()))
      throw malformed(q, t?.pos ?? q.length, `unexpected token: ${t ? `'${tokenText(t)}'` : '<EOF>'}`);
    i++;
    const f = field(t.text, t.pos);
    let negate = false;
    if (isWord(peek(), 'NOT') && isWord(tokens[i + 1], 'IN')) {
      negate = true;
      i++;
    }
    if (isWord(peek(), 'IN')) {
      i++;
      expectPunct('(');
      const values: Value[] = [];
      for (;;) {
        const { lit, pos } = literal();
        values.push(checkType(f, lit, pos));
        const n = tokens[i];
        if (n?.kind === 'punct' && n.text === ',') {
          i++;
          continue;
        }
        expectPunct(')');
        break;
      }
      return { op: 'in', field: f.name, values, negate, type: f.type };
    }
    const opTok = tokens[i];
    const cmp = opTok?.kind === 'punct' ? opTok.text : isWord(opTok, 'LIKE') ? 'LIKE' : null;
    if (!cmp || cmp === '(' || cmp === ')' || cmp === ',')
      throw malformed(q, opTok?.pos ?? q.length, `unexpected token: ${opTok ? `'${tokenText(opTok)}'` : '<EOF>'}`);
    i++;
    const { lit, pos } = literal();
    if (cmp === 'LIKE' && f.type !== 'string') throw new SoqlError('INVALID_QUERY_FILTER_OPERATOR', `invalid operator on ${f.type} field ${f.name}`);
    return { op: 'cmp', field: f.name, cmp: cmp === '<>' ? '!=' : cmp, value: checkType(f, lit, pos), type: f.type };
  };
  const expression = (): Condition => {
    const parts = [primary()];
    let joiner: 'and' | 'or' | null = null;
    for (;;) {
      const t = peek();
      const op = isWord(t, 'AND') ? 'and' : isWord(t, 'OR') ? 'or' : null;
      if (!op) break;
      if (joiner && joiner !== op)
        throw malformed(q, (t as Token).pos, `unexpected token: '${(t as { text: string }).text}' (AND and OR need parentheses to be combined)`);
      joiner = op;
      i++;
      parts.push(primary());
    }
    return joiner ? { op: joiner, parts } : (parts[0] as Condition);
  };

  let where: Condition | null = null;
  if (isWord(peek(), 'WHERE')) {
    i++;
    where = expression();
  }
  const orderBy: ParsedQuery['orderBy'] = [];
  if (isWord(peek(), 'ORDER')) {
    i++;
    expectWord('BY');
    for (;;) {
      const t = tokens[i];
      if (t?.kind !== 'word' || RESERVED.has(t.text.toUpperCase()))
        throw malformed(q, t?.pos ?? q.length, `unexpected token: ${t ? `'${tokenText(t)}'` : '<EOF>'}`);
      i++;
      const f = field(t.text, t.pos);
      let desc = false;
      if (isWord(peek(), 'ASC')) i++;
      else if (isWord(peek(), 'DESC')) {
        desc = true;
        i++;
      }
      if (isWord(peek(), 'NULLS')) throw malformed(q, (peek() as Token).pos, 'NULLS FIRST/LAST is not emulated');
      orderBy.push({ field: f.name, desc, type: f.type });
      const n = tokens[i];
      if (n?.kind === 'punct' && n.text === ',') {
        i++;
        continue;
      }
      break;
    }
  }
  let limit: number | null = null;
  if (isWord(peek(), 'LIMIT')) {
    i++;
    const t = tokens[i];
    if (t?.kind !== 'number' || !/^\d+$/.test(t.text)) throw malformed(q, t?.pos ?? q.length, `unexpected token: ${t ? `'${tokenText(t)}'` : '<EOF>'}`);
    limit = Number(t.text);
    i++;
  }
  if (i < tokens.length) {
    const t = tokens[i] as Token;
    throw malformed(q, t.pos, isWord(t, 'OFFSET') ? 'OFFSET is not emulated' : `unexpected token: '${tokenText(t)}'`);
  }
  return { object: schemaName, fields, where, orderBy, limit };
}

function tokenText(t: Token): string {
  return t.kind === 'string' ? `'${t.value}'` : t.text;
}

/** Comparable form of a record value for a field type (datetimes as ms). */
function comparable(v: unknown, type: FieldType): number | string | boolean | null {
  if (v === null || v === undefined) return null;
  if (type === 'datetime') return Date.parse(String(v).replace(/([+-]\d{2})(\d{2})$/, '$1:$2'));
  if (type === 'number') return Number(v);
  if (type === 'boolean') return Boolean(v);
  return String(v);
}

function compare(a: number | string | boolean | null, b: number | string | boolean | null, type: FieldType): number {
  if (a === null && b === null) return 0;
  if (a === null) return -1;
  if (b === null) return 1;
  // Ids compare case-sensitively (15-character ids are case-sensitive); strings case-insensitively.
  if (type === 'string') return String(a).toLowerCase() < String(b).toLowerCase() ? -1 : String(a).toLowerCase() > String(b).toLowerCase() ? 1 : 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

export function matches(record: Record<string, unknown>, cond: Condition | null): boolean {
  if (!cond) return true;
  switch (cond.op) {
    case 'and':
      return cond.parts.every((p) => matches(record, p));
    case 'or':
      return cond.parts.some((p) => matches(record, p));
    case 'not':
      return !matches(record, cond.part);
    case 'in': {
      const v = comparable(record[cond.field], cond.type);
      const hit = cond.values.some((x) => compare(v, comparable(x, cond.type), cond.type) === 0 && v !== null);
      return cond.negate ? !hit : hit;
    }
    case 'cmp': {
      const v = comparable(record[cond.field], cond.type);
      const x = comparable(cond.value, cond.type);
      if (cond.cmp === 'LIKE') {
        const re = new RegExp(
          `^${String(x)
            .replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            .replace(/%/g, '.*')
            .replace(/_/g, '.')}$`,
          'i',
        );
        return v !== null && re.test(String(v));
      }
      if (x === null) return cond.cmp === '=' ? v === null : cond.cmp === '!=' ? v !== null : false;
      if (v === null) return cond.cmp === '!=';
      const c = compare(v, x, cond.type);
      return cond.cmp === '='
        ? c === 0
        : cond.cmp === '!='
          ? c !== 0
          : cond.cmp === '<'
            ? c < 0
            : cond.cmp === '<='
              ? c <= 0
              : cond.cmp === '>'
                ? c > 0
                : c >= 0;
    }
  }
}

export function sortRecords<T extends Record<string, unknown>>(records: T[], orderBy: ParsedQuery['orderBy']): T[] {
  if (!orderBy.length) return records;
  return [...records].sort((a, b) => {
    for (const o of orderBy) {
      const c = compare(comparable(a[o.field], o.type), comparable(b[o.field], o.type), o.type);
      if (c !== 0) return o.desc ? -c : c;
    }
    return 0;
  });
}
