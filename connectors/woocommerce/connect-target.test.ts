// The store URL a tenant connects WooCommerce with is a connection parameter (settings.storeUrl),
// checked by the contract's auth.connectionTarget before any key is sent or stored: private and
// reserved addresses are refused; a loopback store (the emulator) only outside production; in
// production a host name must resolve to public addresses only.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../../src/callers/tenants.ts';
import { startStack, type Stack } from '../../test/helpers.ts';
import { checkStoreTarget } from './store-url.ts';

const KEY = `sb_woo_${randomUUID()}`;
const TENANT = 'woo-tenant';
const [CK, CS] = ['ck_switchboardtest000000000000000000000000', 'cs_switchboardtest000000000000000000000000'];

describe('checkStoreTarget', () => {
  const check = (storeUrl: unknown, production: boolean, resolve?: (h: string) => Promise<string[]>) =>
    checkStoreTarget({ settings: { storeUrl }, production }, resolve ?? (async () => ['93.184.215.14']));

  it('refuses private, link-local and reserved addresses in every mode', async () => {
    for (const production of [true, false]) {
      for (const url of [
        'https://10.0.0.5',
        'https://169.254.169.254/latest',
        'https://192.168.1.20',
        'https://[fd00::1]',
        'https://[::ffff:10.0.0.1]',
        'https://shop.internal',
      ]) {
        const res = await check(url, production);
        expect(res.ok, `${url} production=${production}`).toBe(false);
      }
    }
  });

  it('allows a loopback store over plain http outside production only', async () => {
    expect(await check('http://127.0.0.1:8080', false)).toEqual({ ok: true, value: { baseUrl: 'http://127.0.0.1:8080' } });
    expect((await check('http://127.0.0.1:8080', true)).ok).toBe(false);
    expect((await check('https://localhost', true)).ok).toBe(false);
  });

  it('in production, a public name must resolve, and only to public addresses', async () => {
    expect(await check('https://shop.example.com/', true)).toEqual({ ok: true, value: { baseUrl: 'https://shop.example.com' } });
    const rebinding = await check('https://shop.example.com', true, async () => ['93.184.215.14', '10.1.2.3']);
    expect(rebinding.ok).toBe(false);
    if (!rebinding.ok) expect(rebinding.error.message).toMatch(/10\.1\.2\.3/);
    const nowhere = await check('https://shop.example.com', true, async () => {
      throw new Error('ENOTFOUND');
    });
    expect(nowhere.ok).toBe(false);
  });

  it('requires the store URL', async () => {
    const res = await check(undefined, false);
    expect(res.ok).toBe(false);
    if (!res.ok) expect(res.error.message).toMatch(/settings\.storeUrl is required/);
  });
});

describe('connectWithBasicAuth for WooCommerce', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 2, invoices: 1, orders: 1 },
      extraTenants: () => [{ id: TENANT, apiKeys: [{ id: 'w', sha256: hashApiKey(KEY) }], connections: [] }],
    });
  });
  afterAll(() => stack?.stop());

  const connect = (storeUrl: string) =>
    stack.query<{ connectWithBasicAuth: { id: string } }>(
      'mutation ($s: JSON) { connectWithBasicAuth(connector: "woocommerce", username: "' + CK + '", password: "' + CS + '", settings: $s) { id } }',
      { s: { storeUrl } },
      KEY,
    );
  const stored = async () => (await stack.gateway.services.connections.listByTenant(TENANT)).filter((c) => c.provider === 'woocommerce');

  it('refuses a store URL in a private range: BAD_USER_INPUT, nothing sent, nothing stored', async () => {
    const res = await connect('https://169.254.169.254');
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(res.errors?.[0]?.message).toMatch(/private or reserved/);
    expect(await stored()).toEqual([]);
  });

  it('connects to the loopback emulator in tests, with the store URL as the base URL', async () => {
    const woo = stack.emulators.get('woocommerce')!;
    const res = await connect(woo.url);
    expect(res.errors).toBeUndefined();
    const [connection] = await stored();
    expect(connection?.id).toBe(res.data?.connectWithBasicAuth.id);
    expect(connection?.baseUrl).toBe(woo.url.replace(/\/+$/, ''));
  });
});
