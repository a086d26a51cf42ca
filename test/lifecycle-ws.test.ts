// The subscription edges a client meets, over real sockets: every close carries a code and a
// reason, every error an extensions.code (docs/errors.md); and the pages that lead there: the
// offline GraphiQL sends subscriptions over graphql-ws, the landing page points to it.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from './helpers.ts';

/** Runs one operation over a fresh graphql-ws client; resolves with what ended it. */
async function runOnce(url: string, authorization: string | null, query: string): Promise<{ errors?: unknown; close?: { code: number; reason: string } }> {
  let client: Client | undefined;
  try {
    return await new Promise((resolve) => {
      client = createClient({
        url: url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: authorization ? { authorization } : {},
        retryAttempts: 0,
        on: { closed: (e) => resolve({ close: { code: (e as { code: number }).code, reason: (e as { reason: string }).reason } }) },
      });
      client.subscribe(
        { query },
        {
          next: (msg) => msg.errors && resolve({ errors: msg.errors }),
          error: (err) => (Array.isArray(err) ? resolve({ errors: err }) : undefined),
          complete: () => undefined,
        },
      );
    });
  } finally {
    await client?.dispose();
  }
}

describe('graphql-ws edges', () => {
  let stack: Stack;
  let readOnlyKey = '';
  beforeAll(async () => {
    stack = await startStack({ redisUrl: null, scale: { contacts: 5, invoices: 5, orders: 5 }, presetKeyInPages: true, config: { graphiql: true } });
    readOnlyKey = (await stack.gateway.services.apiKeys.create('acme', { scopes: ['read'] })).key;
  });
  afterAll(() => stack?.stop());

  it('a socket without valid credentials is closed 4403 with a reason saying why', async () => {
    const bad = await runOnce(stack.gateway.url, 'Bearer sb_not_a_key_000000000000', 'subscription { contactChanged { type } }');
    expect(bad.close).toEqual({ code: 4403, reason: expect.stringMatching(/^Forbidden: .+/) });
    expect(bad.close!.reason).not.toContain('sb_not_a_key');
    const none = await runOnce(stack.gateway.url, null, 'subscription { contactChanged { type } }');
    expect(none.close).toEqual({ code: 4403, reason: expect.stringMatching(/^Forbidden: .+/) });
  });

  it('syntax, validation and scope errors carry their extensions.code', async () => {
    const auth = `Bearer ${stack.apiKey}`;
    const codes = async (authorization: string, query: string) =>
      ((await runOnce(stack.gateway.url, authorization, query)).errors as Array<{ extensions?: { code?: string } }>).map((e) => e.extensions?.code);
    expect(await codes(auth, 'subscription { contactChanged { type }')).toEqual(['GRAPHQL_PARSE_FAILED']);
    expect(await codes(auth, 'subscription { contactChanged { nope } }')).toEqual(['GRAPHQL_VALIDATION_FAILED']);
    expect(await codes(`Bearer ${readOnlyKey}`, 'subscription { contactChanged { type } }')).toEqual(['FORBIDDEN']);
    expect(await codes(auth, 'subscription { contactChanged(after: "not-a-cursor") { type } }')).toEqual(['BAD_USER_INPUT']);
  });

  it('the offline GraphiQL sends subscriptions over graphql-ws on /graphql, with the HTTP credential', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    const html = await (await fetch(`${base}/graphiql`)).text();
    // The render call goes through our setup, which switches the protocol and the endpoint.
    const call = html.slice(html.lastIndexOf('switchboardRenderGraphiQL('));
    expect(call).toMatch(/^switchboardRenderGraphiQL\(\s*window\.document\.querySelector\('#root'\),\s*\{/);
    expect(call).toContain('"endpoint":"/graphql"');
    expect(call).toContain('"subscriptionsProtocol":"WS"');
    expect(html).toContain("opts.subscriptionsProtocol = 'WS';");
    expect(html).toContain('opts.subscriptionsEndpoint = new URL(opts.endpoint, location.href).toString();');
    expect(html).toContain('return credential ? { authorization: credential } : {};');
    expect(html).not.toMatch(/YogaGraphiQL\.renderYogaGraphiQL\(\s*window\.document/);
  });

  it('the landing page at GET /graphql points to /graphiql', async () => {
    const html = await (await fetch(stack.gateway.url, { headers: { accept: 'text/html' } })).text();
    expect(html).toContain('embeddable-sandbox');
    expect(html).toContain('<a href="/graphiql">/graphiql</a>');
  });
});
