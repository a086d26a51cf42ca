// The client developers' kit (docs/clients.md): examples/client/ is typed by graphql-codegen's
// client preset, compiled by `npm test`'s tsc, and run here against a real gateway and the
// emulators: a typed query, a paginated walk, errors by code, and a subscription that resumes
// after its socket is cut without missing or repeating a change.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { generate } from '@graphql-codegen/cli';
import type { Client as WsClient } from 'graphql-ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import exampleCodegen from '../examples/client/codegen.ts';
import WebSocket from 'ws';
import { followChanges, httpClient, query, SwitchboardError, walk } from '../examples/client/client.ts';
import { addDecimal } from '../examples/client/money.ts';
import { ChangeCursor, ContactChanges, ContactsPage, InvoicesPage } from '../examples/client/operations.ts';
import { admin, startStack, TOKENS, type Stack, sendStripeWebhooksToAcme } from './helpers.ts';

const STRIPE_SECRET = 'whsec_client_example_secret_0000';

describe('examples/client', () => {
  it('its committed gql/ is what the client preset generates from schema/ now (run `npm run codegen:example`)', async () => {
    const outputs = (await generate({ ...exampleCodegen, silent: true }, false)) as Array<{ filename: string; content: string }>;
    expect(outputs.length).toBeGreaterThan(0);
    for (const out of outputs) expect(readFileSync(out.filename, 'utf8'), out.filename).toBe(out.content);
  }, 60_000);

  it('adds decimal amounts exactly', () => {
    expect(addDecimal('0.1', '0.2')).toBe('0.3');
    expect(addDecimal('1234.50', '-0.125')).toBe('1234.375');
    expect(addDecimal('-1.00', '0.25')).toBe('-0.75');
    expect(addDecimal('0', '12')).toBe('12');
  });

  describe('against a gateway', () => {
    let stack: Stack;
    beforeAll(async () => {
      stack = await startStack({ scale: { contacts: 12, invoices: 45, orders: 4 } });
      await sendStripeWebhooksToAcme(stack, STRIPE_SECRET);
    });
    afterAll(async () => {
      await stack?.stop();
    });

    it('runs a typed query and walks every page of a list, each record once', async () => {
      const client = httpClient({ url: stack.gateway.url, apiKey: stack.apiKey });
      const { data, partialErrors } = await query(client, ContactsPage, { first: 3, filter: { provider: 'stripe' } });
      expect(partialErrors).toEqual([]);
      expect(data.contacts.nodes).toHaveLength(3);
      expect(data.contacts.nodes.every((c) => c.source.provider === 'stripe')).toBe(true);

      const ids: string[] = [];
      for await (const invoice of walk(client, InvoicesPage, { first: 10, filter: { provider: 'stripe' } }, (d) => d.invoices)) ids.push(invoice.id);
      const upstream = await fetch(`${stack.stripe.url}/v1/invoices?limit=100`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } });
      const expected = ((await upstream.json()) as { data: unknown[] }).data.length;
      expect(expected).toBeGreaterThan(10); // more than one page
      expect(ids).toHaveLength(expected);
      expect(new Set(ids).size).toBe(ids.length);
    });

    it('reports a refused request by its code', async () => {
      const client = httpClient({ url: stack.gateway.url, apiKey: 'sb_wrong_key' });
      const error = await query(client, ContactsPage, { first: 1 }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(SwitchboardError);
      expect((error as SwitchboardError).code).toBe('UNAUTHENTICATED');
    });

    it('follows changes across a cut socket: the change made while disconnected arrives once, in order', async () => {
      const client = httpClient({ url: stack.gateway.url, apiKey: stack.apiKey });
      const { data: start } = await query(client, ChangeCursor, {});
      const customers = (
        (await (await fetch(`${stack.stripe.url}/v1/customers?limit=1`, { headers: { authorization: `Bearer ${TOKENS.stripe}` } })).json()) as {
          data: Array<{ id: string }>;
        }
      ).data;
      const customer = customers[0]!.id;
      const rename = (name: string) => admin(stack.stripe.url, 'PATCH', `/records/customers/${customer}`, { name });
      const names = ['First', 'WhileAway', 'AfterReturn'].map((n) => `${n} ${randomUUID().slice(0, 6)}`);

      const sockets: WsClient[] = [];
      let connected: () => void = () => {};
      let nextConnection = new Promise<void>((resolve) => (connected = resolve));
      let allowReconnect: () => void = () => {};
      const reconnectGate = new Promise<void>((resolve) => (allowReconnect = resolve));
      const stop = new AbortController();
      const feed = followChanges({
        url: stack.gateway.url,
        apiKey: stack.apiKey,
        document: ContactChanges,
        variables: { after: start.changeCursor, filter: { provider: 'stripe' } },
        cursorOf: (d) => d.contactChanged.cursor,
        webSocketImpl: WebSocket,
        signal: stop.signal,
        onConnected: (socket) => {
          sockets.push(socket);
          connected();
        },
        waitBeforeReconnect: () => reconnectGate,
      });
      const received: string[] = [];
      const next = async () => {
        const { value, done } = await feed.next();
        if (done) throw new Error('the feed ended');
        received.push(value.contactChanged.contact?.name ?? '');
        return value;
      };
      try {
        // The first change arrives live (the iterator connects lazily on the first next()).
        const first = next();
        await nextConnection;
        await rename(names[0]!);
        await first;
        // Cut the socket; make a change while no socket is open, and wait until the gateway has
        // processed it (the change log moved past the first change).
        nextConnection = new Promise<void>((resolve) => (connected = resolve));
        const second = next();
        sockets[0]!.terminate();
        const { data: before } = await query(client, ChangeCursor, {});
        await rename(names[1]!);
        for (let i = 0; i < 200; i++) {
          const { data: now } = await query(client, ChangeCursor, {});
          if (now.changeCursor !== before.changeCursor) break;
          await new Promise((r) => setTimeout(r, 50));
        }
        allowReconnect();
        await nextConnection;
        await second;
        // A third, live change proves nothing else (no replay of the first) came in between.
        const third = next();
        await rename(names[2]!);
        await third;
        expect(sockets).toHaveLength(2);
        expect(received).toEqual(names);
      } finally {
        stop.abort();
        await feed.return(undefined);
      }
    });
  });
});
