// "The gateway's own store (Redis) cannot answer right now": one error class the gateway's stores
// throw, checked with instanceof, so callers answer SERVICE_UNAVAILABLE (retry shortly) instead of
// INTERNAL_SERVER_ERROR. The Redis clients themselves throw untyped errors; they are classified
// once, here.
import { ReplyError } from 'ioredis';

export class StoreOutage extends Error {
  override readonly name: string = 'StoreOutage';
}

/** Redis error replies during failover, loading, memory pressure or misconfigured auth (the reply's own code). */
const OUTAGE_REPLY = /^(READONLY|LOADING|OOM|NOAUTH|MASTERDOWN|CLUSTERDOWN|BUSY)\b/;
/** Transport failures: ioredis and node-redis raise plain Errors with these messages or socket codes. */
const TRANSPORT_FAILURE =
  /^(Connection is closed|Stream isn't writeable|The client is closed|Socket closed unexpectedly)|\b(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EPIPE)\b/;

const isReplyError = (err: Error): boolean => err instanceof (ReplyError as new () => Error);

/** Whether `err` means the store could not answer: a StoreOutage, or a Redis client's outage error. */
export function isStoreOutage(err: unknown): err is Error {
  if (err instanceof StoreOutage) return true;
  if (!(err instanceof Error)) return false;
  if (isReplyError(err)) return OUTAGE_REPLY.test(err.message);
  // ioredis gives up after maxRetriesPerRequest with a class it does not export (MaxRetriesPerRequestError).
  if (err.message.startsWith('Reached the max retries per request limit')) return true;
  const code = (err as NodeJS.ErrnoException).code;
  return TRANSPORT_FAILURE.test(err.message) || (typeof code === 'string' && TRANSPORT_FAILURE.test(code));
}
