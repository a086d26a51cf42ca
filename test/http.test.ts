// The HTTP surface: graphql-http's GraphQL-over-HTTP audit (every MUST), body and depth limits,
// CORS preflight, the landing page, and clear 400s for a request target no URL parser accepts, a
// subscription sent over HTTP and a persisted query whose hash does not match its text.
import { connect } from 'node:net';
import { serverAudits } from 'graphql-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.ts';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ redisUrl: null, scale: { contacts: 20, invoices: 20, orders: 10 } });
});
afterAll(async () => {
  await stack?.stop();
});

describe('GraphQL over HTTP audit (graphql-http)', () => {
  // The audit's requests carry the tenant key like any real client's.
  const audits = serverAudits({
    url: () => stack.gateway.url,
    fetchFn: (input: RequestInfo | URL, init?: RequestInit) => {
      const headers = new Headers(init?.headers);
      headers.set('authorization', `Bearer ${stack.apiKey}`);
      return fetch(input, { ...init, headers });
    },
  });
  const must = audits.filter((a) => a.name.startsWith('MUST'));
  it('has MUST audits to run', () => {
    expect(must.length).toBeGreaterThan(10);
  });
  it.each(must.map((a) => [a.name, a] as const))('%s', async (_name, audit) => {
    const result = await audit.fn();
    expect(result.status, 'reason' in result ? result.reason : '').toBe('ok');
  });
});

describe('limits and surface', () => {
  it('rejects a body over 1 MiB with 413', async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ query: `{ contacts(first: 1) { nodes { id } } }`, padding: 'x'.repeat(1024 * 1024) }),
    });
    expect(res.status).toBe(413);
  });

  it('rejects documents deeper than the limit with GRAPHQL_VALIDATION_FAILED', async () => {
    let selection = 'id';
    for (let i = 0; i < 8; i++) selection = `contact { invoices(first: 1) { nodes { ${selection} } } }`;
    const res = await stack.query(`{ invoices(first: 1) { nodes { ${selection} } } }`);
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
    expect(res.errors?.[0]?.message).toMatch(/depth/i);
  });

  it('answers CORS preflight so Apollo Sandbox (another origin) can call it', async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'OPTIONS',
      headers: { origin: 'https://studio.apollographql.com', 'access-control-request-method': 'POST' },
    });
    expect(res.status).toBe(204);
    expect(res.headers.get('access-control-allow-headers')).toContain('authorization');
  });

  it('serves the Apollo Sandbox landing page on GET /graphql for browsers', async () => {
    const res = await fetch(stack.gateway.url, { headers: { accept: 'text/html' } });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('embeddable-sandbox');
  });

  it('masks unexpected errors and keeps secrets out of responses', async () => {
    const res = await stack.query('{ contacts(first: 3) { nodes { id raw } } }');
    expect(JSON.stringify(res)).not.toContain('pat-na1-');
    expect(JSON.stringify(res)).not.toContain('sk_test_');
  });

  // fetch normalizes what it sends: a raw socket puts the target on the wire as written.
  const rawRequest = (target: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const { hostname, port } = new URL(stack.gateway.url);
      const socket = connect(Number(port), hostname, () => socket.write(`GET ${target} HTTP/1.1\r\nHost: ${hostname}\r\nConnection: close\r\n\r\n`));
      let answer = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (answer += chunk));
      socket.on('end', () => resolve(answer));
      socket.on('error', reject);
    });

  it.each(['//', 'http://[::1/graphql'])('answers 400 to the request target %s and keeps serving', async (target) => {
    const answer = await rawRequest(target);
    expect(answer).toMatch(/^HTTP\/1\.1 400 /);
    // The body as sent (in one chunk of a chunked answer).
    expect(answer).toContain(JSON.stringify({ error: 'the request target is not a valid URL', code: 'BAD_REQUEST' }));
    expect((await fetch(stack.gateway.url.replace(/\/graphql$/, '/healthz'))).status).toBe(200);
  });

  it('refuses a subscription over HTTP with BAD_REQUEST, pointing to WebSocket', async () => {
    const res = await stack.query('subscription { contactChanged { eventId } }');
    expect(res.status).toBe(400);
    expect(res.errors?.[0]?.extensions?.code).toBe('BAD_REQUEST');
    expect(res.errors?.[0]?.message).toMatch(/WebSocket/);
  });

  it('answers an automatic persisted query whose hash does not match its text with BAD_REQUEST, not an internal error', async () => {
    const res = await fetch(stack.gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${stack.apiKey}` },
      body: JSON.stringify({ query: '{ contacts(first: 1) { nodes { id } } }', extensions: { persistedQuery: { version: 1, sha256Hash: 'abc' } } }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { errors: Array<{ message: string; extensions: { code: string } }> };
    expect(body.errors).toEqual([{ message: 'provided sha does not match query', extensions: { code: 'BAD_REQUEST' } }]);
  });
});
