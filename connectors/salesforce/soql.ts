// Building SOQL safely: every value placed into a query goes through one of these functions, so a
// quote in an e-mail address or an id can never end the string literal and change the query.
// Escapes as the SOQL reference lists them: \' \" \\ \n \r \t \b \f (and nothing else is allowed).

/** A SOQL string literal: the value quoted, with every character SOQL treats specially escaped. */
export function soqlString(value: string): string {
  const escaped = value.replace(/[\\'"\n\r\t\b\f]/g, (c) => {
    switch (c) {
      case '\n':
        return '\\n';
      case '\r':
        return '\\r';
      case '\t':
        return '\\t';
      case '\b':
        return '\\b';
      case '\f':
        return '\\f';
      default:
        return `\\${c}`;
    }
  });
  return `'${escaped}'`;
}

/** A SOQL dateTime literal (unquoted, whole seconds, UTC): `2026-01-01T00:00:00Z`. */
export function soqlDateTime(iso: string): string {
  const ms = Date.parse(iso);
  if (Number.isNaN(ms)) throw new TypeError(`not an ISO-8601 instant: ${JSON.stringify(iso)}`);
  return `${new Date(Math.floor(ms / 1000) * 1000).toISOString().slice(0, 19)}Z`;
}

/** `('a','b')` for an IN list; callers pass at least one value. */
export function soqlList(values: readonly string[]): string {
  return `(${values.map(soqlString).join(',')})`;
}

/** Salesforce record ids: 15 (case-sensitive) or 18 (case-safe) alphanumerics. */
export const isSalesforceId = (id: string): boolean => /^[a-zA-Z0-9]{15}(?:[a-zA-Z0-9]{3})?$/.test(id);
