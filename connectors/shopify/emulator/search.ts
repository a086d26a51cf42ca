// Shopify's search syntax, as far as the connector and tests use it: terms joined by spaces or
// AND (OR and NOT are refused here rather than half-supported), each `field:value` with an optional
// comparator (`:>`, `:>=`, `:<`, `:<=`), values bare or quoted ("…" or '…') with backslash
// escapes, `*` as a prefix wildcard. Text comparison is case-insensitive; dates compare as instants.
export interface SearchTerm {
  field: string;
  op: '=' | '>' | '>=' | '<' | '<=';
  value: string;
}

export class SearchSyntaxError extends Error {}

export function parseSearch(query: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  let i = 0;
  const s = query;
  while (i < s.length) {
    while (s[i] === ' ') i++;
    if (i >= s.length) break;
    const word = /^[A-Za-z_]+/.exec(s.slice(i))?.[0] ?? '';
    if (word === 'AND' && s[i + 3] === ' ') {
      i += 3;
      continue;
    }
    if ((word === 'OR' || word === 'NOT') && (s[i + word.length] === ' ' || i + word.length === s.length))
      throw new SearchSyntaxError(`${word} is not supported by the emulator`);
    if (!word || s[i + word.length] !== ':') throw new SearchSyntaxError(`expected field:value at ${i}`);
    i += word.length + 1;
    const op = (/^(>=|<=|>|<)/.exec(s.slice(i))?.[0] ?? '=') as SearchTerm['op'];
    i += op === '=' ? 0 : op.length;
    let value = '';
    const quote = s[i];
    if (quote === '"' || quote === "'") {
      i++;
      while (i < s.length && s[i] !== quote) {
        if (s[i] === '\\' && i + 1 < s.length) i++;
        value += s[i];
        i++;
      }
      if (s[i] !== quote) throw new SearchSyntaxError('unterminated quoted value');
      i++;
    } else {
      while (i < s.length && s[i] !== ' ') value += s[i++];
    }
    terms.push({ field: word.toLowerCase(), op, value });
  }
  return terms;
}

function compare(actual: unknown, term: SearchTerm): boolean {
  if (actual === null || actual === undefined) return false;
  if (Array.isArray(actual)) return actual.some((a) => compare(a, term));
  const asTime = (v: string) => Date.parse(v);
  if (term.op !== '=') {
    const a = typeof actual === 'number' ? actual : asTime(String(actual));
    const b = typeof actual === 'number' ? Number(term.value) : asTime(term.value);
    if (Number.isNaN(a) || Number.isNaN(b)) return false;
    return term.op === '>' ? a > b : term.op === '>=' ? a >= b : term.op === '<' ? a < b : a <= b;
  }
  const text = String(actual).toLowerCase();
  const want = term.value.toLowerCase();
  return want.endsWith('*') ? text.startsWith(want.slice(0, -1)) : text === want;
}

/** Every term holds for the record's searchable fields; unknown fields match nothing. */
export function matchesSearch(terms: SearchTerm[], fields: Record<string, unknown>): boolean {
  return terms.every((t) => t.field in fields && compare(fields[t.field], t));
}
