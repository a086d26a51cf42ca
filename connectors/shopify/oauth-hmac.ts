// The `hmac` Shopify puts on the OAuth callback (and on app launch URLs): hex HMAC-SHA256 with the
// app's client secret over the other query parameters, sorted by name and form-encoded
// (`code=…&host=…&shop=…&state=…&timestamp=…`; `hmac` and `signature` left out). Pure; wired into
// the connect flow by contract v2 (README). The shop parameter is checked too: the code is later
// sent to https://{shop}/admin/oauth/access_token, so it must be a *.myshopify.com host.
import { createHmac, timingSafeEqual } from 'node:crypto';

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
