// The browser side of the connect flow: the confirmation page, the cookies that bind a flow to the
// browser that started it, return-URL checks and refusals. Nothing here talks to a provider.
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface HttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export const newToken = () => randomBytes(32).toString('base64url');
const stateDigest = (state: string) => createHash('sha256').update(state).digest('base64url');
export const confirmCookieName = (sessionToken: string) => `sb_confirm_${createHash('sha256').update(sessionToken).digest('hex').slice(0, 16)}`;
const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** One cookie per pending authorization, so two flows in two tabs do not overwrite each other. */
export const bindingCookieName = (state: string) => `sb_connect_${stateDigest(state).slice(0, 16).replace(/[-_]/g, 'x')}`;

/**
 * A Set-Cookie value. Over https the name gets the `__Host-` prefix (Secure, Path=/, no Domain), so
 * neither a sibling subdomain nor a plain-http page can plant it; over http (local development,
 * the demo) it is scoped to `path`.
 */
export function setCookie(name: string, value: string, o: { https: boolean; path: string; maxAge: number; sameSite: 'Lax' | 'Strict' }): string {
  const attributes = o.https ? `; Path=/; Secure` : `; Path=${o.path}`;
  return `${o.https ? `__Host-${name}` : name}=${value}${attributes}; Max-Age=${o.maxAge}; HttpOnly; SameSite=${o.sameSite}`;
}

/**
 * A cookie's value under the exact name setCookie gave it: over https only the `__Host-` name
 * counts (a cookie without the prefix may have been planted by a sibling subdomain or a plain-http
 * page), over http only the plain one.
 */
export function readCookie(header: string | null | undefined, name: string, https: boolean): string | null {
  const wanted = https ? `__Host-${name}` : name;
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    const key = i > 0 ? part.slice(0, i).trim() : '';
    if (key === wanted) return part.slice(i + 1).trim();
  }
  return null;
}

/**
 * Cookie values only this gateway can compute: HMAC-SHA256 under a key derived from the vault's
 * master keys (CredentialVault.derivedKeys), so every replica computes the same value and nobody
 * without the key can (a digest of the state, which travels in URLs, could be computed by anyone
 * who saw the state). Made with the first key, checked against all of them (key rotation).
 */
export class CookieSigner {
  constructor(private readonly keys: readonly Buffer[]) {
    if (keys.length === 0) throw new Error('CookieSigner needs at least one key');
  }

  sign(purpose: 'confirm' | 'bind', ...parts: string[]): string {
    return this.mac(this.keys[0] as Buffer, purpose, parts);
  }

  /** Constant-time check of a presented value against every key. */
  verify(presented: string | null, purpose: 'confirm' | 'bind', ...parts: string[]): boolean {
    if (!presented) return false;
    const given = Buffer.from(presented);
    return this.keys.some((key) => {
      const expected = Buffer.from(this.mac(key, purpose, parts));
      return expected.length === given.length && timingSafeEqual(expected, given);
    });
  }

  private mac(key: Buffer, purpose: string, parts: string[]): string {
    return createHmac('sha256', key)
      .update([purpose, ...parts].join('\0'))
      .digest('base64url');
  }
}
export const refuse = (message: string): HttpAnswer => ({ status: 400, body: { error: message, code: 'BAD_REQUEST' } });

/** Whether `url` is allowed by an allow-list entry: the same URL, or under an entry ending in "/". */
export function returnUrlAllowed(url: string, allowList: readonly string[]): boolean {
  let parsed: URL;
  // An empty fragment ("…#") leaves URL.hash empty: refuse any '#' in the text itself.
  if (url.includes('#')) return false;
  try {
    parsed = new URL(url);
  } catch {
    return false;
  }
  if (parsed.username || parsed.password || parsed.hash) return false;
  const href = parsed.href;
  return allowList.some((entry) => {
    const allowed = new URL(entry).href;
    return allowed.endsWith('/') ? href.startsWith(allowed) : href === allowed || href.startsWith(`${allowed}?`);
  });
}

/** The page a person confirms on before the provider's consent screen (names the tenant the account goes to). */
export function confirmationPage(displayName: string, tenantName: string, action: string, confirm: string): string {
  const provider = escapeHtml(displayName);
  const who = escapeHtml(tenantName);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Connect ${provider}</title><meta name="referrer" content="no-referrer">
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#1b1b1b}button{font:inherit;padding:.6rem 1.2rem;border-radius:6px;border:0;background:#2d5be3;color:#fff;cursor:pointer}small{color:#555}</style></head>
<body><h1>Connect ${provider}</h1>
<p>You are about to give <strong>${who}</strong> read access to your ${provider} account through Switchboard.</p>
<p><small>Continue only if you started this from ${who}. ${provider} will ask you to approve the access next.</small></p>
<form method="post" action="${escapeHtml(action)}"><input type="hidden" name="confirm" value="${confirm}"><button type="submit">Continue to ${provider}</button></form>
</body></html>`;
}
