// Client errors and connection limits (issue 13, "Auth edges"): malformed HTTP requests are
// BAD_REQUEST (400/405) and logged without a stack; scalar errors no longer echo the whole input;
// a client that sends its request slowly is cut off at the configured timeout, not Node's 300 s;
// graphql-ws caps operations per socket and sockets per tenant.
import { connect } from 'node:net';
import { Writable } from 'node:stream';
import { createClient } from 'graphql-ws';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { hashApiKey } from '../src/callers/tenants.ts';
import { DEFAULT_LIMITS } from '../src/config.ts';
import { startStack, type Stack } from './helpers.ts';

const WS_KEY = 'sb_test_socket_tenant_key_0001';
const lines: Array<{ level: number; msg: string; err?: { stack?: string } }> = [];
const logger = pino(
  { level: 'info' },
  new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line) as (typeof lines)[number]);
      done();
    },
  }),
);

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    config: { mode: 'production', limits: { ...DEFAULT_LIMITS, serverHeadersTimeoutMs: 1_000, serverRequestTimeoutMs: 1_500 } },
    gatewayOptions: { logger },
    extraTenants: () => [
      { id: 'sockets', apiKeys: [{ id: 'w', sha256: hashApiKey(WS_KEY) }], connections: [], limits: { maxSocketsPerTenant: 1, maxSubscriptionsPerSocket: 1 } },
    ],
  });
}, 60_000);
afterAll(() => stack?.stop());

describe('client errors', () => {
  const auth = () => ({ authorization: `Bearer ${stack.apiKey}` });
  const cases: Array<[string, () => RequestInit, string, number]> = [
    [
      'a batch',
      () => ({ method: 'POST', headers: { ...auth(), 'content-type': 'application/json' }, body: '[{"query":"{ __typename }"},{"query":"{ __typename }"}]' }),
      '',
      400,
    ],
    ['a GET without a preflight header (CSRF)', () => ({ method: 'GET', headers: auth() }), '?query=%7B__typename%7D', 400],
    ['a text/plain POST (CSRF)', () => ({ method: 'POST', headers: { ...auth(), 'content-type': 'text/plain' }, body: '{"query":"{ __typename }"}' }), '', 400],
    [
      'a form POST',
      () => ({ method: 'POST', headers: { ...auth(), 'content-type': 'application/x-www-form-urlencoded', 'apollo-require-preflight': '1' }, body: 'query=x' }),
      '',
      400,
    ],
    [
      'a mutation over GET',
      () => ({ method: 'GET', headers: { ...auth(), 'apollo-require-preflight': '1' } }),
      '?query=mutation%7BrevokeApiKey(id%3A%22x%22)%7D',
      405,
    ],
  ];
  for (const [name, init, search, status] of cases) {
    it(`${name} is BAD_REQUEST (${status}), logged without a stack`, async () => {
      lines.length = 0;
      const res = await fetch(stack.gateway.url + search, init());
      expect(res.status).toBe(status);
      const body = (await res.json()) as { errors: Array<{ extensions: { code: string } }> };
      expect(body.errors[0]!.extensions.code).toBe('BAD_REQUEST');
      expect(lines.filter((l) => l.level >= 50 || l.err?.stack)).toEqual([]);
    });
  }

  it('a scalar error quotes at most errorEchoMaxChars of the input', async () => {
    const huge = `${'x'.repeat(900_000)}`;
    const res = await stack.query('query($e: EmailAddress) { contacts(first: 1, filter: { email: $e }) { nodes { name } } }', { e: huge });
    expect(res.status).toBe(400);
    const message = res.errors?.[0]?.message ?? '';
    expect(message).toContain(`"${'x'.repeat(100)}…"`);
    expect(message.length).toBeLessThan(600);
  });
});

describe('timeouts', () => {
  it('closes a request whose body arrives too slowly at serverRequestTimeoutMs (408), not after 300 s', async () => {
    const started = Date.now();
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(stack.gateway.port, '127.0.0.1', () => {
        socket.write(`POST /graphql HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"query":`);
      });
      let text = '';
      socket.on('data', (c: Buffer) => (text += c.toString()));
      socket.on('close', () => resolve(text));
      socket.on('error', reject);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 408/);
    expect(Date.now() - started).toBeLessThan(15_000);
  }, 30_000);
});

describe('graphql-ws caps', () => {
  const url = () => stack.gateway.url.replace(/^http/, 'ws');
  const client = () =>
    createClient({
      url: url(),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${WS_KEY}` },
      retryAttempts: 0,
      lazy: false,
      onNonLazyError: () => undefined,
    });

  it('refuses a second operation on a socket capped at one, and a second socket of the tenant (4429)', async () => {
    const first = client();
    const outcome = (query: string) =>
      new Promise<unknown>((resolve) => {
        first.subscribe({ query }, { next: () => undefined, error: resolve, complete: () => resolve('complete') });
      });
    const running = outcome('subscription { connectionStatusChanged { __typename } }');
    const refused = (await outcome('subscription { connectionStatusChanged { __typename } }')) as Array<{ message: string; extensions?: { code?: string } }>;
    expect(refused[0]?.extensions?.code).toBe('RATE_LIMITED');
    expect(refused[0]?.message).toMatch(/runs 1 operations/);

    const second = client();
    const closed = await new Promise<{ code: number; reason: string }>((resolve) => {
      second.on('closed', (event) => resolve(event as { code: number; reason: string }));
    });
    expect(closed.code).toBe(4429);
    expect(closed.reason).toMatch(/Too many sockets/);
    await second.dispose();
    await first.dispose();
    await running;
  }, 30_000);
});
