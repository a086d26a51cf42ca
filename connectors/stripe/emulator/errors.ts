// Stripe's error envelope: {"error": {type, message, code?, param?, doc_url?, request_log_url?}}.
// Every failure the emulator produces goes through here so the shape stays the real one.

export type StripeErrorType = 'invalid_request_error' | 'api_error' | 'card_error' | 'idempotency_error';

export class StripeApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly details: { type?: StripeErrorType; code?: string; param?: string } = {},
  ) {
    super(message);
  }
}

const DOC_BASE = 'https://stripe.com/docs/error-codes/';

/** The JSON body Stripe sends for an error. `requestId` feeds request_log_url like the real API. */
export function stripeErrorBody(err: StripeApiError, requestId: string | null, livemode = false): { error: Record<string, string> } {
  const error: Record<string, string> = {};
  // Stripe orders keys alphabetically in its error bodies; keep that for look-alike output.
  if (err.details.code) error['code'] = err.details.code;
  if (err.details.code) error['doc_url'] = DOC_BASE + err.details.code.replace(/_/g, '-');
  error['message'] = err.message;
  if (err.details.param) error['param'] = err.details.param;
  if (requestId && err.status !== 401 && err.status < 500) {
    error['request_log_url'] = `https://dashboard.stripe.com/${livemode ? '' : 'test/'}logs/${requestId}?t=${Math.floor(Date.now() / 1000)}`;
  }
  error['type'] = err.details.type ?? 'invalid_request_error';
  return { error };
}

export const invalidRequest = (message: string, param?: string, code?: string) => new StripeApiError(400, message, { param, code });

/** "No such customer: 'cus_x'" — 404 for a path id, 400 when the id came in a parameter. */
export function resourceMissing(noun: string, id: string, param: string, status: 404 | 400): StripeApiError {
  return new StripeApiError(status, `No such ${noun}: '${id}'`, { code: 'resource_missing', param });
}

export const rateLimited = () =>
  new StripeApiError(429, 'Request rate limit exceeded. Learn more about rate limits here https://stripe.com/docs/rate-limits.', { code: 'rate_limit' });

export const apiError = () => new StripeApiError(500, 'An unknown error occurred', { type: 'api_error' });

/**
 * How Stripe echoes a key it rejects: the recognised prefix, stars, and the last four characters —
 * and only stars when the key is too short for the last four to be harmless.
 */
export function maskApiKey(key: string): string {
  const m = /^((?:sk|rk|pk)_(?:test|live)_)(.*)$/s.exec(key);
  const prefix = m?.[1] ?? '';
  const rest = m?.[2] ?? key;
  if (rest.length < 12) return prefix + '*'.repeat(Math.max(rest.length, 4));
  return prefix + '*'.repeat(rest.length - 4) + rest.slice(-4);
}
