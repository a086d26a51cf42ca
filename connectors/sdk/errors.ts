// The closed set of failure codes a connector may report. They reach GraphQL clients unchanged as
// errors[].extensions.code, so adding one is a public API change.
export const CONNECTOR_ERROR_CODES = [
  'UPSTREAM_UNAUTHORIZED',
  'UPSTREAM_FORBIDDEN',
  'UPSTREAM_NOT_FOUND',
  'UPSTREAM_RATE_LIMITED',
  'UPSTREAM_UNAVAILABLE',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_BAD_RESPONSE',
  'MAPPING_FAILED',
  'WEBHOOK_SIGNATURE_INVALID',
  'WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
] as const;
export type ConnectorErrorCode = (typeof CONNECTOR_ERROR_CODES)[number];

export interface ConnectorErrorOptions {
  retryable?: boolean;
  retryAfterMs?: number | null;
  /** HTTP status the provider answered with, if any. */
  upstreamStatus?: number | null;
  /** Provider's request/correlation id, useful in support tickets; never a secret. */
  upstreamRequestId?: string | null;
  cause?: unknown;
}

const RETRYABLE_BY_DEFAULT: ReadonlySet<ConnectorErrorCode> = new Set(['UPSTREAM_RATE_LIMITED', 'UPSTREAM_UNAVAILABLE', 'UPSTREAM_TIMEOUT']);

export class ConnectorError extends Error {
  override readonly name = 'ConnectorError';
  readonly code: ConnectorErrorCode;
  readonly retryable: boolean;
  readonly retryAfterMs: number | null;
  readonly upstreamStatus: number | null;
  readonly upstreamRequestId: string | null;

  constructor(code: ConnectorErrorCode, message: string, options: ConnectorErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.retryable = options.retryable ?? RETRYABLE_BY_DEFAULT.has(code);
    this.retryAfterMs = options.retryAfterMs ?? null;
    this.upstreamStatus = options.upstreamStatus ?? null;
    this.upstreamRequestId = options.upstreamRequestId ?? null;
  }
}

export function isConnectorError(value: unknown): value is ConnectorError {
  return value instanceof ConnectorError;
}

/**
 * The generic HTTP-status → code mapping. Connectors call this after reading the provider's own
 * error body (for the message), and special-case where a provider deviates (e.g. Stripe's
 * 400 + code=rate_limit).
 */
export function codeForStatus(status: number): ConnectorErrorCode {
  if (status === 401) return 'UPSTREAM_UNAUTHORIZED';
  if (status === 403) return 'UPSTREAM_FORBIDDEN';
  if (status === 404) return 'UPSTREAM_NOT_FOUND';
  if (status === 429) return 'UPSTREAM_RATE_LIMITED';
  if (status === 408 || status === 504) return 'UPSTREAM_TIMEOUT';
  if (status >= 500) return 'UPSTREAM_UNAVAILABLE';
  return 'UPSTREAM_BAD_RESPONSE';
}

/** Parses an HTTP Retry-After value (delta-seconds or HTTP-date) into milliseconds. */
export function parseRetryAfter(value: string | null | undefined, now = Date.now()): number | null {
  if (value == null || value.trim() === '') return null;
  const trimmed = value.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Math.round(Number(trimmed) * 1000);
  const at = Date.parse(trimmed);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - now);
}
