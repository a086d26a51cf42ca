// Document limits (issue 13, "CPU abuse"): the probes — a 1 MB alias query, 300 aliased
// introspection fields — are refused fast with QUERY_TOO_LARGE before any parse of the whole
// document; tokens and directives likewise; a tenant's own limits apply; introspection and field
// suggestions need the `schema` (or `admin`) scope outside the demo; /graphiql only where enabled.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { graphql, startStack, type Stack } from './helpers.ts';

const READER = 'sb_test_reader_only_key_0001';
const EXPLORER = 'sb_test_reader_schema_key_01';
const ROOMY = 'sb_test_roomy_tenant_key_0001';

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({
    extraTenants: () => [
      {
        id: 'readers',
        apiKeys: [
          { id: 'r', sha256: hashApiKey(READER), scopes: ['read'] },
          { id: 's', sha256: hashApiKey(EXPLORER), scopes: ['read', 'schema'] },
        ],
        connections: [],
      },
      { id: 'roomy', apiKeys: [{ id: 'k', sha256: hashApiKey(ROOMY), scopes: ['read'] }], connections: [], limits: { maxAliases: 400 } },
    ],
  });
}, 60_000);
afterAll(() => stack?.stop());

async function post(body: string, key = stack.apiKey) {
  const started = performance.now();
  const res = await fetch(stack.gateway.url, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body });
  const json = (await res.json()) as { data?: unknown; errors?: Array<{ message: string; extensions?: Record<string, unknown> }> };
  return { status: res.status, json, ms: performance.now() - started };
}

const aliases = (n: number, field: string) => `{ ${Array.from({ length: n }, (_, i) => `a${i}: ${field}`).join(' ')} }`;

describe('document limits', () => {
  it('refuses a 1 MB alias query before parsing it, fast, with QUERY_TOO_LARGE', async () => {
    let query = '{ ';
    for (let i = 0; query.length < 1_000_000; i++) query += `a${i}: __typename `;
    query += '}';
    const body = JSON.stringify({ query });
    expect(body.length).toBeLessThan(1024 * 1024); // under the body limit: the character limit must catch it
    const { status, json, ms } = await post(body);
    expect(status).toBe(400);
    expect(json.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_LARGE');
    expect(json.errors?.[0]?.message).toMatch(/maximum allowed length of 20000, found 10000\d\d/);
    // The probe stalled the loop 1-2 s before; a length check is far below that even on a loaded box.
    expect(ms).toBeLessThan(1_000);
  });

  it('refuses 300 aliased __schema fields (the 21.8 MB answer) without running them', async () => {
    const query = aliases(300, '__schema { types { name fields { name } } }');
    const { status, json } = await post(JSON.stringify({ query }));
    expect(status).toBe(400);
    expect(json.errors?.[0]?.extensions?.code).toBe('QUERY_TOO_LARGE');
    expect(json.data).toBeUndefined();
    // Under the character limit, the alias count is what stops it.
    const small = await post(JSON.stringify({ query: aliases(300, '__typename') }));
    expect(small.status).toBe(400);
    expect(small.json.errors?.[0]).toMatchObject({ message: 'Aliases limit of 30 exceeded, found 300.', extensions: { code: 'QUERY_TOO_LARGE' } });
  });

  it('refuses too many tokens and too many directives', async () => {
    const tokens = await post(JSON.stringify({ query: `{ ${'a '.repeat(2_100)}}` }));
    expect(tokens.status).toBe(400);
    expect(tokens.json.errors?.[0]).toMatchObject({ message: 'Token limit of 2000 exceeded.', extensions: { code: 'QUERY_TOO_LARGE' } });
    const directives = await post(JSON.stringify({ query: `{ __typename ${'@include(if: true) '.repeat(60)}}` }));
    expect(directives.status).toBe(400);
    expect(directives.json.errors?.[0]).toMatchObject({ message: 'Directives limit of 50 exceeded, found 60.', extensions: { code: 'QUERY_TOO_LARGE' } });
  });

  it('lets a normal query through', async () => {
    const res = await stack.query<{ contacts: { nodes: unknown[] } }>(
      '{ a: contacts(first: 2) { nodes { name } } b: invoices(first: 2) { nodes { number } } }',
    );
    expect(res.status).toBe(200);
    expect(res.errors).toBeUndefined();
    expect(res.data?.contacts ?? (res.data as unknown as { a: { nodes: unknown[] } }).a.nodes).toBeTruthy();
  });

  it("applies a tenant's own limits (tenants file `limits`) and only to that tenant", async () => {
    const query = JSON.stringify({ query: aliases(300, '__typename') });
    expect((await post(query, ROOMY)).status).toBe(200);
    expect((await post(query, READER)).status).toBe(400);
  });
});

describe('schema exploration', () => {
  const introspect = JSON.stringify({ query: '{ __schema { queryType { name } } }' });
  const typo = JSON.stringify({ query: '{ contactz(first: 1) { nodes { name } } }' });

  it('refuses introspection to a credential without the schema scope, allows it with schema or admin', async () => {
    const denied = await post(introspect, READER);
    expect(denied.status).toBe(403);
    expect(denied.json.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect(denied.json.errors?.[0]?.message).toMatch(/"schema"/);
    const typeProbe = await post(JSON.stringify({ query: '{ __type(name: "Contact") { fields { name } } }' }), READER);
    expect(typeProbe.status).toBe(403);
    expect((await post(introspect, EXPLORER)).json).toEqual({ data: { __schema: { queryType: { name: 'Query' } } } });
    expect((await post(introspect, stack.apiKey)).status).toBe(200); // default scopes include admin
  });

  it('hides field suggestions from a credential without the schema scope', async () => {
    const hidden = await post(typo, READER);
    expect(hidden.status).toBe(400);
    expect(hidden.json.errors?.[0]?.message).toBe('Cannot query field "contactz" on type "Query".');
    const shown = await post(typo, EXPLORER);
    expect(shown.json.errors?.[0]?.message).toMatch(/Did you mean "contact"/);
  });

  it('opens both to everyone where configured (the demo)', async () => {
    const config = stack.gateway.services.config;
    config.schemaExploration = 'everyone';
    try {
      expect((await post(introspect, READER)).status).toBe(200);
      expect((await post(typo, READER)).json.errors?.[0]?.message).toMatch(/Did you mean/);
    } finally {
      config.schemaExploration = 'scoped';
    }
  });

  it('serves /graphiql only where enabled, with a Content-Security-Policy', async () => {
    const page = stack.gateway.url.replace(/\/graphql$/, '/graphiql');
    const off = await fetch(page);
    expect(off.status).toBe(404);
    await off.arrayBuffer();
    const config = stack.gateway.services.config;
    config.graphiql = true;
    try {
      const on = await fetch(page);
      expect(on.status).toBe(200);
      const csp = on.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("connect-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(await on.text()).toContain('GraphiQL');
    } finally {
      config.graphiql = false;
    }
  }, 60_000);

  it('the same scope rule applies to every query helper credential (graphql helper sanity)', async () => {
    const res = await graphql(stack.gateway.url, READER, '{ __typename }');
    expect(res.status).toBe(200);
  });
});
