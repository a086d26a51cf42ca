// Structured logs (pino): one JSON object per line (docs/operations.md, "Logs"). Anything that could
// hold a credential is redacted by key pattern at any depth — a field named token, secret,
// password, authorization, cookie, apiKey, credentials, … wherever it sits in the logged object —
// and a "Bearer <token>" inside any string value loses its token. A credential can still reach a
// log line through a free-text message, which our code and connectors must not do.
import { pino, type Logger } from 'pino';

/** Keys whose values never reach a log line (matched case-insensitively, anywhere in the key). */
export const SECRET_KEY = /token|secret|passw(or)?d|authorization|cookie|api[-_]?key|credential|connectionparams|private[-_]?key|signature/i;
/** A bearer credential inside a string value. */
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;
export const CENSOR = '[redacted]';
/** Deeper structures are cut (log objects are small; a deep one is a mistake, not data). */
const MAX_DEPTH = 8;

/** Kept for the fast path of the common shapes; redactDeep covers every other place. */
export const REDACTED_PATHS = ['authorization', 'headers.authorization', 'req.headers.authorization', 'headers.cookie', 'req.headers.cookie'];

/** A copy of `value` with secret-named keys censored at any depth (plain objects and arrays; errors keep their message). */
export function redactDeep(value: unknown, depth = 0, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return value.includes(' ') ? value.replace(BEARER, `$1 ${CENSOR}`) : value;
  if (value === null || typeof value !== 'object') return value;
  if (value instanceof Error) return value; // pino's err serializer: name, message, stack
  if (seen.has(value)) return '[circular]';
  if (depth >= MAX_DEPTH) return '[too deep]';
  seen.add(value);
  if (Array.isArray(value)) return value.map((v) => redactDeep(v, depth + 1, seen));
  const proto = Object.getPrototypeOf(value) as object | null;
  if (proto !== Object.prototype && proto !== null) return value; // Dates, Buffers, class instances: as pino renders them
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) && v !== null && v !== undefined ? CENSOR : redactDeep(v, depth + 1, seen);
  return out;
}

export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { service: 'switchboard' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: REDACTED_PATHS, censor: CENSOR },
      formatters: { log: (object) => redactDeep(object) as Record<string, unknown> },
    },
    destination as pino.DestinationStream | undefined,
  );
}
