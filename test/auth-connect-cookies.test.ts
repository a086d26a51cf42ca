// Planted connect-flow cookies (issue 13): a cookie set by a sibling subdomain or a plain-http page
// (no `__Host-` prefix) and a value an attacker can compute (a digest of the state, or the form's
// own nonce) neither skip the confirmation page nor finish an authorization. Each refusal is 400
// and stores nothing; the browser that really started the flow still finishes it.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindingCookieName, confirmCookieName } from '../src/accounts/connect/browser.ts';
import { HTTPS_BASE, cookiePair, startAuthStack, type AuthStack } from './auth-support.ts';

let s: AuthStack;

beforeAll(async () => {
  s = await startAuthStack();
});
afterAll(async () => {
  await s?.stack.stop();
});

const CREATE = `mutation { createConnectSession(connector: "hubspot") { url } }`;
const count = async () => (await s.beta<{ connections: unknown[] }>(`{ connections { id } }`)).data!.connections.length;
const local = (u: string | URL) => {
  const url = new URL(u);
  return `${s.base}${url.pathname}${url.search}`;
};
const attackerDigest = (state: string) => createHash('sha256').update(state).digest('base64url');

async function confirmPage(): Promise<{ link: string; token: string; nonce: string; cookie: { name: string; value: string } }> {
  const made = await s.beta<{ createConnectSession: { url: string } }>(CREATE);
  const link = local(made.data!.createConnectSession.url);
  const page = await fetch(link);
  expect(page.status).toBe(200);
  const nonce = /name="confirm" value="([^"]+)"/.exec(await page.text())![1]!;
  return { link, token: new URL(link).searchParams.get('session')!, nonce, cookie: cookiePair(page.headers.get('set-cookie')) };
}

const post = (link: string, nonce: string, cookie: string) =>
  fetch(link, {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie },
    body: new URLSearchParams({ confirm: nonce }).toString(),
  });

describe('connect-flow cookies over https', () => {
  beforeAll(() => {
    s.stack.gateway.services.config.publicUrl = HTTPS_BASE;
  });
  afterAll(() => {
    delete s.stack.gateway.services.config.publicUrl;
  });

  it('the confirmation cookie: only its __Host- name counts, and its value is a MAC, not the form nonce', async () => {
    const { link, token, nonce, cookie } = await confirmPage();
    const name = confirmCookieName(token);
    expect(cookie.name).toBe(`__Host-${name}`);
    expect(cookie.value).not.toBe(nonce);
    // Planted by a sibling subdomain: the right value under the plain name.
    const planted = await post(link, nonce, `${name}=${cookie.value}`);
    expect(planted.status).toBe(400);
    expect(((await planted.json()) as { error: string }).error).toMatch(/press Continue/);
    // The old binding (cookie equals form field), even under the prefixed name.
    expect((await post(link, 'attacker-chosen', `__Host-${name}=attacker-chosen`)).status).toBe(400);
    // The link is still usable by the page that was really shown.
    expect((await post(link, nonce, `${cookie.name}=${cookie.value}`)).status).toBe(303);
  });

  it('the binding cookie: planted without the prefix, or with a computed value → 400, nothing stored; the real browser finishes', async () => {
    const { link, nonce, cookie } = await confirmPage();
    const started = await post(link, nonce, `${cookie.name}=${cookie.value}`);
    expect(started.status).toBe(303);
    const binding = cookiePair(started.headers.get('set-cookie'));
    const consent = await fetch(started.headers.get('location')!, { redirect: 'manual' });
    expect(consent.status).toBe(302);
    const callback = new URL(consent.headers.get('location')!);
    expect(callback.origin).toBe(HTTPS_BASE);
    const state = callback.searchParams.get('state')!;
    const name = bindingCookieName(state);
    expect(binding.name).toBe(`__Host-${name}`);
    expect(binding.value).not.toBe(attackerDigest(state));

    const before = await count();
    const open = (cookieHeader: string) => fetch(local(callback), { redirect: 'manual', headers: { cookie: cookieHeader } });
    const planted = await open(`${name}=${binding.value}`);
    expect(planted.status).toBe(400);
    expect(((await planted.json()) as { error: string }).error).toMatch(/did not start/);
    expect((await open(`__Host-${name}=${attackerDigest(state)}`)).status).toBe(400);
    expect(await count()).toBe(before);

    const done = await open(`${binding.name}=${binding.value}`);
    expect(done.status).toBe(200);
    expect(await count()).toBe(before + 1);
  });
});

describe('connect-flow cookies over http (development)', () => {
  it('a binding cookie whose value anyone can compute from the state is refused', async () => {
    const { link, nonce, cookie } = await confirmPage();
    expect(cookie.name.startsWith('__Host-')).toBe(false);
    const started = await post(link, nonce, `${cookie.name}=${cookie.value}`);
    expect(started.status).toBe(303);
    const consent = await fetch(started.headers.get('location')!, { redirect: 'manual' });
    const callback = new URL(consent.headers.get('location')!);
    const state = callback.searchParams.get('state')!;
    const before = await count();
    const planted = await fetch(callback, { redirect: 'manual', headers: { cookie: `${bindingCookieName(state)}=${attackerDigest(state)}` } });
    expect(planted.status).toBe(400);
    expect(await count()).toBe(before);
  });
});
