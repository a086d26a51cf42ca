// The `hmac` Shopify puts on the OAuth callback (and on app launch URLs): hex HMAC-SHA256 with the
// app's client secret over the other query parameters, sorted by name and form-encoded
// (`code=…&host=…&shop=…&state=…&timestamp=…`; `hmac` and `signature` left out). Pure; the connect
// flow calls it through the contract's auth.verifyCallback before the code is redeemed. The shop parameter is checked too: the code is later
// sent to https://{shop}/admin/oauth/access_token, so it must be a *.myshopify.com host.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { ConnectorError } from '../sdk/errors.ts';
import type { CallbackCheckInput, Result } from '../sdk/types.ts';

/** A shop's permanent domain: what the authorize URL and token endpoint may be built from. */
export const SHOP_DOMAIN_PATTERN = '^[a-zA-Z0-9][a-zA-Z0-9-]*\\.myshopify\\.com$';
const SHOP_DOMAIN = new RegExp(SHOP_DOMAIN_PATTERN);
/** How far the callback's `timestamp` may be from now (the official library allows 90 s). */
export const CALLBACK_CLOCK_TOLERANCE_SECONDS = 90;

export type CallbackCheck = { ok: true; shop: string } | { ok: false; reason: 'missing_hmac' | 'invalid_hmac' | 'invalid_shop' | 'stale_timestamp' };

/** The message the callback hmac signs. */
export function callbackMessage(query: URLSearchParams): string {
  const pairs = [...query.entries()].filter(([k]) => k !== 'hmac' && k !== 'signature').sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return new URLSearchParams(pairs).toString();
}

export function signCallbackQuery(query: URLSearchParams, clientSecret: string): string {
  return createHmac('sha256', clientSecret).update(callbackMessage(query)).digest('hex');
}

export function verifyCallbackQuery(query: URLSearchParams, clientSecret: string, nowMs = Date.now()): CallbackCheck {
  const given = query.get('hmac');
  if (!given) return { ok: false, reason: 'missing_hmac' };
  const expected = Buffer.from(signCallbackQuery(query, clientSecret), 'hex');
  const decoded = /^[0-9a-f]{64}$/i.test(given) ? Buffer.from(given, 'hex') : Buffer.alloc(0);
  if (decoded.length !== expected.length || !timingSafeEqual(decoded, expected)) return { ok: false, reason: 'invalid_hmac' };
  const shop = query.get('shop') ?? '';
  if (!SHOP_DOMAIN.test(shop)) return { ok: false, reason: 'invalid_shop' };
  const timestamp = Number(query.get('timestamp'));
  if (!Number.isFinite(timestamp) || Math.abs(nowMs / 1000 - timestamp) > CALLBACK_CLOCK_TOLERANCE_SECONDS) return { ok: false, reason: 'stale_timestamp' };
  return { ok: true, shop };
}

const REASONS: Record<Exclude<CallbackCheck, { ok: true }>['reason'], string> = {
  missing_hmac: 'the Shopify callback carries no hmac parameter',
  invalid_hmac: "the Shopify callback's hmac does not match its parameters (signed with the app's client secret)",
  invalid_shop: 'the Shopify callback names no *.myshopify.com shop',
  stale_timestamp: `the Shopify callback's timestamp is more than ${CALLBACK_CLOCK_TOLERANCE_SECONDS} s from now`,
};

/** The contract's callback check: the hmac, the shop (the one the authorization started for) and the timestamp. */
export function verifyShopifyCallback(input: CallbackCheckInput): Result<void> {
  const check = verifyCallbackQuery(input.query, input.clientSecret, input.now);
  const refuse = (message: string): Result<void> => ({ ok: false, error: new ConnectorError('UPSTREAM_UNAUTHORIZED', message, { retryable: false }) });
  if (!check.ok) return refuse(REASONS[check.reason]);
  const started = input.params['shop'];
  if (started !== undefined && started.toLowerCase() !== check.shop.toLowerCase())
    return refuse('the Shopify callback names another shop than the one this authorization started for');
  return { ok: true, value: undefined };
}
