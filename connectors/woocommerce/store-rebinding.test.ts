// DNS rebinding after connect: the store host was checked when the tenant connected it, but in
// production the addresses the socket connects to are checked again on every call, and the keys
// are not sent when one is private, link-local or loopback. The store's name is one this test
// answers for (the upstream layer's resolver); the HTTP client is the real one, and a real server
// on loopback counts the connections that reach it.
import { createServer, type Server } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResolveHost } from '../../src/upstream/address-guard.ts';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import { woocommerce } from './index.ts';
import { BASIC_TOKEN } from './test-support.ts';

const HOST = 'shop.rebind.example';
let server: Server;
let port = 0;
/** TCP connections that reached the loopback server: any would have carried the keys. */
let reached = 0;

beforeAll(async () => {
  server = createServer((socket) => {
    reached += 1;
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const family = (address: string) => (address.includes(':') ? 6 : 4);

const list = (production: boolean, resolveHost: ResolveHost, baseUrl = `https://${HOST}:${port}`) =>
  woocommerce.loaders.Contact!.list(
    { first: 5, filter: {} },
    createTestContext({ connector: woocommerce, baseUrl, token: BASIC_TOKEN, production, resolveHost, upstream: { attemptTimeoutMs: 2_000, maxAttempts: 1 } }),
  );

describe('WooCommerce store host at request time (production)', () => {
  it('refuses to connect when the store name now resolves to a private, link-local or loopback address: nothing reaches the socket', async () => {
    for (const rebound of [['127.0.0.1'], ['10.0.0.7'], ['93.184.216.34', '169.254.169.254'], ['::ffff:192.168.1.4'], ['::1']]) {
      const asked: string[] = [];
      const resolveHost: ResolveHost = async (host) => {
        asked.push(host);
        return rebound.map((address) => ({ address, family: family(address) }));
      };
      const err = await list(true, resolveHost).catch((e: unknown) => e);
      expect(err, rebound.join(',')).toBeInstanceOf(ConnectorError);
      expect(err).toMatchObject({
        code: 'UPSTREAM_FORBIDDEN',
        message: expect.stringMatching(/now resolves to .*private or reserved.*refusing to send the keys/),
      });
      // The name was resolved when the socket was to be opened, not answered from a check made earlier.
      expect(asked).toEqual([HOST]);
    }
    // The loopback answer pointed at the real server: had the check run anywhere but on the
    // socket's address, the connection (and the Basic credential) would have reached it.
    expect(reached).toBe(0);
  });

  it('a store written as a private address is refused before any connection', async () => {
    const resolveHost: ResolveHost = async () => {
      throw new Error('an address is not resolved');
    };
    const err = await list(true, resolveHost, `https://10.0.0.7:${port}`).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'UPSTREAM_FORBIDDEN', message: expect.stringMatching(/private or reserved range/) });
  });

  it('outside production the host is not checked (the emulator answers on loopback)', async () => {
    let resolved = 0;
    const resolveHost: ResolveHost = async () => {
      resolved += 1;
      return [{ address: '10.0.0.7', family: 4 }];
    };
    const before = reached;
    // Plain http to 127.0.0.1, as tests and the demo run the emulator: the socket connects (the
    // server hangs up, so the call fails as a transport error, not a refusal).
    const err = await list(false, resolveHost, `http://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect((err as ConnectorError).code).not.toBe('UPSTREAM_FORBIDDEN');
    expect(resolved).toBe(0);
    expect(reached).toBe(before + 1);
  });
});
