// A real browser (Debian's Chromium, driven by playwright-core; no browser download) opens the
// offline GraphiQL page, runs the preset query with the preset key, and sees data. The page must
// need no network: every request it makes to another host is blocked and recorded.
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// CI installs Chromium (.ci/run); elsewhere the test says why it is skipped.
const available = existsSync(CHROMIUM);
if (!available && process.env.CI) throw new Error(`${CHROMIUM} is missing; .ci/run installs Debian's chromium`);

describe.skipIf(!available)('offline GraphiQL in Chromium', () => {
  let stack: Stack;
  let browser: Browser;
  beforeAll(async () => {
    stack = await startStack({ redisUrl: null, scale: { contacts: 20, invoices: 20, orders: 10 }, presetKeyInPages: true, config: { graphiql: true } });
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

  it('runs the preset query and shows data, without any outside request', async () => {
    const page = await browser.newPage();
    const outside: string[] = [];
    const origin = new URL(stack.gateway.url).origin;
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(origin) || url.startsWith('blob:') || url.startsWith('data:')) return route.continue();
      outside.push(url);
      return route.abort();
    });
    await page.goto(`${origin}/graphiql`);
    await page.locator('.graphiql-execute-button').click();
    await expect.poll(async () => page.locator('.graphiql-response').innerText(), { timeout: 20_000 }).toContain('"invoices"');
    const text = await page.locator('.graphiql-response').innerText();
    expect(text).toContain('"total"');
    expect(text).not.toContain('UNAUTHENTICATED');
    expect(outside).toEqual([]);
    await page.close();
  });
});
