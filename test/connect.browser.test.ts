// The connect flow in a real browser (Debian's Chromium via playwright-core): the connect link on
// http://localhost:<port> shows a confirmation page, Continue sets the flow's binding cookie, the provider's consent page lives on
// another site (the emulator on 127.0.0.1), and its redirect back to the gateway's callback is a
// cross-site top-level navigation that must still carry the SameSite=Lax cookie. Another browser
// opening the same callback URL is refused.
import { existsSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { cookieBrowser, emulatorRegistrations, freePort, graphql, startConnect, startStack, type Stack } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing; .ci/run installs Debian's chromium`);

const KEY = `sb_browser_${randomUUID()}`;
const APP = { clientId: 'browser-test-app', clientSecret: 'browser-test-secret-000000000000' };

describe.skipIf(!available)('connect flow in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  let port: number;
  beforeAll(async () => {
    port = await freePort();
    stack = await startStack({
      redisUrl: null,
      scale: { contacts: 5, invoices: 2, orders: 2 },
      oauthClients: { hubspot: [{ ...APP, redirectUris: [`http://localhost:${port}/connect/hubspot/callback`], scopes: ['crm.objects.contacts.read'] }] },
      config: { port, allowInsecureOAuth: true },
      extraTenants: () => [{ id: 'web', apiKeys: [{ id: 'k', sha256: hashApiKey(KEY) }], connections: [] }],
    });
    Object.assign(stack.gateway.services.config.providers, emulatorRegistrations(stack, { hubspot: { ...APP, scopes: ['crm.objects.contacts.read'] } }));
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await stack?.stop();
  });

  it('connects through a cross-site consent page; another browser cannot finish the same flow', async () => {
    const gateway = `http://localhost:${port}/graphql`;
    const session = await graphql<{ createConnectSession: { url: string } }>(
      gateway,
      KEY,
      `
        mutation {
          createConnectSession(connector: "hubspot") {
            url
          }
        }
      `,
    );
    expect(session.errors).toBeUndefined();
    const url = session.data!.createConnectSession.url;
    expect(url.startsWith(`http://localhost:${port}/connect/hubspot?session=`)).toBe(true);

    const context = await browser.newContext();
    const page = await context.newPage();
    // The confirmation page names the tenant; Continue goes to the provider, whose consent page
    // approves at once and redirects back to the callback.
    await page.goto(url);
    expect(await page.textContent('h1')).toBe('Connect HubSpot');
    expect(await page.textContent('body')).toContain('web');
    const [response] = await Promise.all([page.waitForResponse((r) => r.url().includes('/connect/hubspot/callback')), page.click('button[type=submit]')]);
    expect(response.status()).toBe(200);
    await page.waitForLoadState();
    const body = JSON.parse((await page.textContent('body')) ?? '{}') as { status?: string; connectionId?: string };
    expect(body.status).toBe('connected');
    const finalUrl = new URL(page.url());
    expect(finalUrl.origin + finalUrl.pathname).toBe(`http://localhost:${port}/connect/hubspot/callback`);

    const listed = await graphql<{ connections: Array<{ id: string; status: string }> }>(
      gateway,
      KEY,
      `
        {
          connections {
            id
            status
          }
        }
      `,
    );
    expect(listed.data!.connections).toEqual([{ id: body.connectionId, status: 'ACTIVE' }]);

    // Same flow, victim's browser: start a new flow, stop at the consent redirect, open the
    // provider's page in a second browser context (no binding cookie).
    const second = await graphql<{ createConnectSession: { url: string } }>(
      gateway,
      KEY,
      `
        mutation {
          createConnectSession(connector: "hubspot") {
            url
          }
        }
      `,
    );
    // The attacker's own "browser" starts the flow and keeps the consent URL (and the cookie).
    const started = await startConnect(cookieBrowser(), second.data!.createConnectSession.url);
    const consentUrl = started.headers.get('location')!;
    expect(consentUrl).toContain('/oauth/authorize');
    const victim = await browser.newContext();
    const victimPage = await victim.newPage();
    const refused = await victimPage.goto(consentUrl);
    expect(refused?.status()).toBe(400);
    expect(await victimPage.textContent('body')).toContain('did not start');
    const after = await graphql<{ connections: unknown[] }>(
      gateway,
      KEY,
      `
        {
          connections {
            id
          }
        }
      `,
    );
    expect(after.data!.connections).toHaveLength(1);
    await Promise.all([context.close(), victim.close()]);
  });
});
