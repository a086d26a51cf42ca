// graphql-ws clients pass the credential in connectionParams in several spellings: lower-case
// `authorization` (ours), `Authorization` (copied from the HTTP header, as Apollo Sandbox and many
// client set-ups do), or nested in `headers`. Each authenticates; a wrong key is still refused.
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authorizationParam } from '../src/gateway/websocket.ts';
import { startStack, type Stack } from './helpers.ts';

async function changeCursorOver(url: string, connectionParams: Record<string, unknown>): Promise<{ data?: unknown; error?: unknown }> {
  const client = createClient({ url: url.replace(/^http/, 'ws'), webSocketImpl: WebSocket, connectionParams, retryAttempts: 0 });
  try {
    return await new Promise((resolve) => {
      client.subscribe(
        { query: '{ changeCursor }' },
        { next: (r) => resolve({ data: r.data }), error: (error) => resolve({ error }), complete: () => undefined },
      );
    });
  } finally {
    await client.dispose();
  }
}

describe('graphql-ws credential spellings', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ scale: { contacts: 3, invoices: 3, orders: 3 } });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('accepts authorization, Authorization and headers.{Authorization}; refuses a wrong key', async () => {
    const bearer = `Bearer ${stack.apiKey}`;
    for (const params of [
      { authorization: bearer },
      { Authorization: bearer },
      { headers: { Authorization: bearer } },
      { headers: { authorization: bearer } },
    ]) {
      const answer = await changeCursorOver(stack.gateway.url, params);
      expect(answer.error, JSON.stringify(Object.keys(params))).toBeUndefined();
      expect(answer.data).toMatchObject({ changeCursor: expect.any(String) });
    }
    const refused = await changeCursorOver(stack.gateway.url, { Authorization: 'Bearer nope' });
    expect((refused.error as { code?: number }).code).toBe(4403);
  });

  it('reads the credential case-insensitively and ignores non-strings', () => {
    expect(authorizationParam({ AUTHORIZATION: 'Bearer x' })).toBe('Bearer x');
    expect(authorizationParam({ authorization: 42, headers: { Authorization: 'Bearer y' } })).toBe('Bearer y');
    expect(authorizationParam(undefined)).toBeNull();
    expect(authorizationParam({ headers: 'Bearer z' })).toBeNull();
  });
});
