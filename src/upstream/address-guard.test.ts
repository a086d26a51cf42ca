// A request's addressCheck applied by the upstream layer to the addresses its socket connects to:
// the host name is one this test answers for (the client's resolveHost), the HTTP client and the
// server are real. An allowed answer reaches the server under the name; once the name answers an
// address the check refuses, nothing reaches it and the call is UPSTREAM_FORBIDDEN, not retried.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AddressCheck, ConnectorManifest } from '../../connectors/sdk/types.ts';
import type { ResolveHost } from './address-guard.ts';
import { DEFAULT_UPSTREAM_OPTIONS, UpstreamClient } from './client.ts';

let server: Server;
let port = 0;
/** Host headers of the requests the server received. */
const received: string[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    received.push(String(req.headers.host));
    // No keep-alive: every call opens a socket of its own, so every call is looked up again.
    res.writeHead(200, { 'content-type': 'application/json', connection: 'close' }).end('{"ok":true}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const manifest = {
  id: 'fake',
  displayName: 'Fake',
  auth: { apiKey: { label: 'key' } },
  maxConcurrency: 4,
  rateLimits: { windows: [{ requests: 1000, windowMs: 1000 }] },
} as ConnectorManifest;

/** Lets the socket reach 127.0.0.1 (this test's server) and nothing else. */
const onlyTestServer: AddressCheck = (address) => (address === '127.0.0.1' ? null : `${address} is not the test server`);

function setup(answer: () => string[]) {
  const lookups: string[] = [];
  const resolveHost: ResolveHost = async (host) => {
    lookups.push(host);
    return answer().map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
  const client = new UpstreamClient(null, { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 20 }, undefined, undefined, { resolveHost });
  const fetch = (baseUrl: string) =>
    client.forScope({
      manifest,
      connection: { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl, settings: {} },
      signal: new AbortController().signal,
      deadline: Date.now() + 5_000,
    });
  return { fetch, lookups };
}

describe('UpstreamRequest.addressCheck', () => {
  it('connects to the checked address under the host name, and refuses once the name rebinds (nothing sent, no retry)', async () => {
    let answer = ['127.0.0.1'];
    const { fetch, lookups } = setup(() => answer);
    const call = fetch(`http://store.test:${port}`);
    const before = received.length;
    const ok = await call({ path: '/a', operation: 'read', addressCheck: onlyTestServer });
    expect(ok.status).toBe(200);
    expect(received.slice(before)).toEqual([`store.test:${port}`]);
    expect(lookups).toEqual(['store.test']);

    // Rebinding: one refused address among the answers is enough.
    for (const rebound of [['10.0.0.7'], ['127.0.0.1', '169.254.169.254']]) {
      answer = rebound;
      const from = lookups.length;
      const err = await call({ path: '/b', operation: 'read', addressCheck: onlyTestServer }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'UPSTREAM_FORBIDDEN', retryable: false, message: expect.stringMatching(/is not the test server/) });
      // A GET is retried on transport failures; a refusal is final: one lookup, one attempt.
      expect(lookups.length - from).toBe(1);
    }
    expect(received.length - before).toBe(1);
  });

  it('a request without a check does not go through the checked pool', async () => {
    const { fetch, lookups } = setup(() => ['10.0.0.7']);
    const res = await fetch(`http://127.0.0.1:${port}`)({ path: '/c', operation: 'read' });
    expect(res.status).toBe(200);
    expect(lookups).toEqual([]);
  });
});
