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

/**
 * Resolves once every line logged so far has reached the destination, then the logger is closed:
 * call it just before `process.exit`. pino's default destination writes asynchronously, and its own
 * exit hook writes the buffer synchronously *past* a write still in flight (or waiting to retry a
 * full pipe), so the last lines could land before earlier ones; its `flush(cb)` does not wait
 * for that write either (it calls back at once). Ending the stream waits for it. A destination
 * that does not drain within `timeoutMs` (nobody reads the pipe) does not hold the exit.
 */
export function closeLog(log: Logger, timeoutMs = 2_000): Promise<void> {
  const stream = (log as unknown as Record<symbol, unknown>)[pino.symbols.streamSym] as
    { end?: () => void; once?: (event: string, listener: () => void) => void; flushSync?: () => void; destroyed?: boolean } | undefined;
  // Only pino's own destination (sonic-boom, the one with flushSync): a stream handed in by the
  // caller (process.stdout, a test's sink) is the caller's to close.
  if (typeof stream?.flushSync !== 'function' || !stream.end || !stream.once || stream.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, timeoutMs);
    stream.once!('close', () => {
      clearTimeout(timer);
      resolve();
    });
    stream.end!();
  });
}
