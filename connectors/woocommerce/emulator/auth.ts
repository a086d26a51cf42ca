// How WooCommerce authenticates REST API keys (WC_REST_Authentication): over HTTPS the key pair as
// HTTP Basic or as consumer_key/consumer_secret query parameters; over plain HTTP OAuth 1.0a
// one-legged (HMAC-SHA1 or HMAC-SHA256, key = consumer secret + "&", 15-minute timestamp window,
// nonces remembered). The emulator listens on plain HTTP but stands for a store reached over TLS,
// so it accepts both: the connector's Basic header and the official client's OAuth 1.0a signature
// (which that client uses for every http:// URL).
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest } from '../../sdk/emulator.ts';
import { wpError } from './errors.ts';

export interface KeyPair {
  consumerKey: string;
  consumerSecret: string;
}

const OAUTH_WINDOW_SECONDS = 15 * 60;

/** Credentials the start options name: "ck_…:cs_…" or its base64 (what the gateway's basic mode sends). */
export function parseCredentials(credentials: readonly string[]): KeyPair[] {
  const pairs: KeyPair[] = [];
  for (const c of credentials) {
    for (const text of [c, Buffer.from(c, 'base64').toString('utf8')]) {
      const m = /^(ck_[A-Za-z0-9]+):(cs_[A-Za-z0-9]+)$/.exec(text);
      if (m) {
        pairs.push({ consumerKey: m[1] as string, consumerSecret: m[2] as string });
        break;
      }
    }
  }
  return pairs;
}

const same = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

const rfc3986 = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`);

/** The key a request presents, as the request log records it. */
export function consumerKeyOf(req: EmulatorRequest): string | null {
  const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
  if (basic)
    return (
      Buffer.from(basic[1] as string, 'base64')
        .toString('utf8')
        .split(':')[0] ?? null
    );
  return req.query.get('consumer_key') ?? req.query.get('oauth_consumer_key');
}

export class KeyAuthenticator {
  private readonly keys: Map<string, KeyPair>;
  private readonly nonces = new Set<string>();

  constructor(pairs: KeyPair[]) {
    this.keys = new Map(pairs.map((p) => [p.consumerKey, p]));
  }

  resetNonces(): void {
    this.nonces.clear();
  }

  /** null when the request may proceed; otherwise WooCommerce's 401 answer. */
  check(req: EmulatorRequest): EmulatorReply | null {
    const basic = /^Basic\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    if (basic) {
      const decoded = Buffer.from(basic[1] as string, 'base64').toString('utf8');
      const colon = decoded.indexOf(':');
      return this.checkPair(colon < 0 ? decoded : decoded.slice(0, colon), colon < 0 ? '' : decoded.slice(colon + 1));
    }
    const key = req.query.get('consumer_key');
    if (key !== null) return this.checkPair(key, req.query.get('consumer_secret') ?? '');
    if (req.query.get('oauth_consumer_key') !== null) return this.checkOAuth(req);
    // No credentials at all: WordPress treats the request as a visitor's.
    const list = !/\/\d+$/.test(req.path);
    return wpError(401, 'woocommerce_rest_cannot_view', list ? 'Sorry, you cannot list resources.' : 'Sorry, you cannot view this resource.');
  }

  private checkPair(consumerKey: string, consumerSecret: string): EmulatorReply | null {
    const pair = this.keys.get(consumerKey);
    if (!pair) return wpError(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
    if (!same(pair.consumerSecret, consumerSecret)) return wpError(401, 'woocommerce_rest_authentication_error', 'Consumer secret is invalid.');
    return null;
  }

  private checkOAuth(req: EmulatorRequest): EmulatorReply | null {
    const q = req.query;
    const pair = this.keys.get(q.get('oauth_consumer_key') ?? '');
    if (!pair) return wpError(401, 'woocommerce_rest_authentication_error', 'Consumer key is invalid.');
    for (const p of ['oauth_timestamp', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method']) {
      if (!q.get(p)) return wpError(401, 'woocommerce_rest_authentication_error', `Missing OAuth parameter ${p}`);
    }
    const method = q.get('oauth_signature_method');
    if (method !== 'HMAC-SHA1' && method !== 'HMAC-SHA256')
      return wpError(401, 'woocommerce_rest_authentication_error', 'Invalid signature - signature method is invalid.');
    // PHP's $_GET keeps the last value of a repeated key (the official client repeats its query
    // parameters after the OAuth ones); WooCommerce signs what $_GET holds.
    const lastWins = new Map<string, string>();
    for (const [k, v] of q.entries()) if (k !== 'oauth_signature') lastWins.set(k, v);
    const params = [...lastWins.entries()].map(([k, v]) => [rfc3986(k), rfc3986(v)] as const);
    params.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
    const baseUrl = `http://${req.headers.host ?? '127.0.0.1'}${req.path}`;
    const base = `${req.method.toUpperCase()}&${rfc3986(baseUrl)}&${rfc3986(params.map(([k, v]) => `${k}=${v}`).join('&'))}`;
    const expected = createHmac(method === 'HMAC-SHA1' ? 'sha1' : 'sha256', `${pair.consumerSecret}&`)
      .update(base)
      .digest('base64');
    if (!same(expected, q.get('oauth_signature') ?? ''))
      return wpError(401, 'woocommerce_rest_authentication_error', 'Invalid signature - provided signature does not match.');
    const timestamp = Number(q.get('oauth_timestamp'));
    if (!Number.isFinite(timestamp) || Math.abs(Date.now() / 1000 - timestamp) > OAUTH_WINDOW_SECONDS) {
      return wpError(401, 'woocommerce_rest_authentication_error', 'Invalid timestamp.');
    }
    const nonce = `${pair.consumerKey}:${timestamp}:${q.get('oauth_nonce')}`;
    if (this.nonces.has(nonce)) return wpError(401, 'woocommerce_rest_authentication_error', 'Invalid nonce - nonce has already been used.');
    this.nonces.add(nonce);
    return null;
  }
}
