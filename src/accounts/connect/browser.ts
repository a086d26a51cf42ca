// The browser side of the connect flow: the confirmation page, the cookies that bind a flow to the
// browser that started it, return-URL checks and refusals. Nothing here talks to a provider.
import { createHash, randomBytes } from 'node:crypto';

export interface HttpAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export const newToken = () => randomBytes(32).toString('base64url');
export const stateDigest = (state: string) => createHash('sha256').update(state).digest('base64url');
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

/** A cookie's value, under its plain or its `__Host-` name (setCookie uses either). */
export function readCookie(header: string | null | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const i = part.indexOf('=');
    const key = i > 0 ? part.slice(0, i).trim() : '';
    if (key === name || key === `__Host-${name}`) return part.slice(i + 1).trim();
  }
  return null;
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
