// DNS rebinding after connect: the store host was checked when the tenant connected it, but in
// production every call resolves it again and refuses to send the keys when it now points at a
// private, link-local or loopback address. The resolver is swapped for one that rebinds.
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import { woocommerce } from './index.ts';
import { storeDns } from './store-url.ts';
import { BASIC_TOKEN } from './test-support.ts';

const STORE = 'https://shop.rebind.example';
const original = storeDns.resolve;
afterEach(() => {
  storeDns.resolve = original;
});

/** A transport that answers an empty page and counts the calls that reached it. */
function transport() {
  const calls: string[] = [];
  const fetchImpl = (async (input: string | URL | Request) => {
    calls.push(String(input instanceof Request ? input.url : input));
    return new Response('[]', { status: 200, headers: { 'content-type': 'application/json', 'x-wp-total': '0', 'x-wp-totalpages': '0' } });
  }) as typeof fetch;
  return { calls, fetchImpl };
}

const list = (production: boolean, fetchImpl: typeof fetch) =>
  woocommerce.loaders.Contact!.list(
    { first: 5, filter: {} },
    createTestContext({ connector: woocommerce, baseUrl: STORE, token: BASIC_TOKEN, fetchImpl, production }),
  );

describe('WooCommerce store host at request time (production)', () => {
  it('calls the store while its name resolves to public addresses, and refuses once it rebinds to a private one', async () => {
    let answer = ['93.184.216.34'];
    const asked: string[] = [];
    storeDns.resolve = async (host) => {
      asked.push(host);
      return answer;
    };
    const { calls, fetchImpl } = transport();
    await list(true, fetchImpl);
    expect(calls.length).toBeGreaterThan(0);
    expect(asked).toContain('shop.rebind.example');

    for (const rebound of [['10.0.0.7'], ['93.184.216.34', '169.254.169.254'], ['127.0.0.1'], ['::ffff:192.168.1.4']]) {
      answer = rebound;
      const before = calls.length;
      const err = await list(true, fetchImpl).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({ code: 'UPSTREAM_FORBIDDEN', message: expect.stringMatching(/private or reserved/) });
      // Nothing was sent: the keys never left.
      expect(calls.length).toBe(before);
    }
  });

  it('outside production nothing is resolved (the emulator answers on loopback)', async () => {
    let resolved = 0;
    storeDns.resolve = async () => {
      resolved += 1;
      return ['10.0.0.7'];
    };
    const { calls, fetchImpl } = transport();
    await list(false, fetchImpl);
    expect(resolved).toBe(0);
    expect(calls.length).toBeGreaterThan(0);
  });
});
