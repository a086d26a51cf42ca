// Which field names hold secrets, by pattern, and a deep copy with those fields replaced: one list
// for every place that writes something outside the process (audit entries, log objects). A
// pattern rather than a list of paths, so a token nested three levels down in an error's cause is
// caught as well as one at the top.

/** Field names whose values are secrets: tokens of every kind, secrets, passwords, keys, cookies, PKCE verifiers, signatures. */
export const SECRET_FIELD_PATTERN =
  /(^|[_-])?(access_?token|refresh_?token|id_?token|token|secret|password|passwd|authorization|api_?key|apikey|cookie|set-cookie|verifier|code_?verifier|signature|private_?key|credential|session)s?$/i;

/** Values that look like a credential whatever field holds them (bearer headers, our API keys, Stripe keys, JWTs). */
export const SECRET_VALUE_PATTERN =
  /^(Bearer\s+\S+|sbk_[0-9a-f]{16}_\S+|sk_(live|test)_\S+|rk_(live|test)_\S+|whsec_\S+|eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/;

export const REDACTED = '[redacted]';

export function isSecretField(name: string): boolean {
  return SECRET_FIELD_PATTERN.test(name);
}

/** A deep copy of `value` with every secret field and secret-looking string replaced by REDACTED. Cycles are cut. */
export function redactDeep<T>(value: T, depth = 8): T {
  const seen = new WeakSet<object>();
  const walk = (v: unknown, left: number): unknown => {
    if (typeof v === 'string') return SECRET_VALUE_PATTERN.test(v.trim()) ? REDACTED : v;
    if (v === null || typeof v !== 'object') return v;
    if (seen.has(v) || left <= 0) return '[…]';
    seen.add(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, left - 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = isSecretField(k) ? REDACTED : walk(x, left - 1);
    return out;
  };
  return walk(value, depth) as T;
}
