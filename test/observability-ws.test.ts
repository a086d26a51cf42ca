// Operations over graphql-ws are logged and traced like HTTP requests (issue 14): one JSON line when
// a subscription starts and one when it stops (tenant, operation, subscription id, duration, results,
// the socket's close code when the socket ended it; never the credential or the variables), and a
// span per operation when tracing is on.
import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../src/observability/logger.ts';
import { startStack, subscribe, type Stack } from './helpers.ts';

const lines: Array<Record<string, unknown>> = [];
let raw = '';
const exporter = new InMemorySpanExporter();
const sink = new Writable({
  write(chunk: Buffer, _enc, done) {
    raw += chunk.toString();
    for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
    done();
  },
});
let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ scale: { contacts: 3, invoices: 1, orders: 1 }, gatewayOptions: { logger: createLogger('info', sink), spanExporter: exporter } });
});
afterAll(() => stack?.stop());

/** Polls the captured log (no fixed sleep) until a line matches. */
async function lineWhere(match: (l: Record<string, unknown>) => boolean, timeoutMs = 10_000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = lines.find(match);
    if (found) return found;
    if (Date.now() > deadline) throw new Error('no such log line');
    await new Promise((r) => setTimeout(r, 20));
  }
}

const SUBSCRIPTION = 'subscription WatchContacts($after: String) { contactChanged(after: $after) { type id } }';

describe('graphql-ws operations in the logs and traces', () => {
  it('logs start and stop with tenant, operation, id, duration; exports a span; nothing secret', async () => {
    const sub = await subscribe(stack.gateway.url, stack.apiKey, SUBSCRIPTION, { after: null });
    const started = await lineWhere((l) => l.msg === 'subscription started' && (l.operation as { name?: string })?.name === 'WatchContacts');
    expect(started).toMatchObject({ tenantId: 'acme', operation: { type: 'subscription', name: 'WatchContacts' }, subscriptionId: expect.any(String) });
    expect(started.clientAddress).toMatch(/127\.0\.0\.1/);
    await sub.close();
    const stopped = await lineWhere((l) => l.msg === 'subscription stopped' && l.subscriptionId === started.subscriptionId);
    expect(stopped).toMatchObject({ tenantId: 'acme', operation: { type: 'subscription', name: 'WatchContacts' }, results: 0 });
    expect(stopped.durationMs).toEqual(expect.any(Number));

    const span = exporter.getFinishedSpans().find((s) => s.name === 'graphql-ws subscription WatchContacts');
    expect(span?.attributes).toMatchObject({
      'graphql.operation.type': 'subscription',
      'graphql.operation.name': 'WatchContacts',
      'switchboard.tenant_id': 'acme',
      'switchboard.subscription_id': started.subscriptionId,
    });
    expect(raw).not.toContain(stack.apiKey);
  });

  it('a socket that closes ends its subscriptions with the close code in the line', async () => {
    const client = createClient({
      url: stack.gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${stack.apiKey}` },
      retryAttempts: 0,
    });
    client.subscribe(
      { query: SUBSCRIPTION.replace('WatchContacts', 'ClosedBySocket'), variables: { after: null } },
      { next: () => undefined, error: () => undefined, complete: () => undefined },
    );
    const started = await lineWhere((l) => l.msg === 'subscription started' && (l.operation as { name?: string })?.name === 'ClosedBySocket');
    await client.dispose();
    const stopped = await lineWhere((l) => l.msg === 'subscription stopped' && l.subscriptionId === started.subscriptionId);
    expect(stopped.closeCode).toBe(1000);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'graphql-ws subscription ClosedBySocket');
    expect(span?.attributes['switchboard.ws.close_code']).toBe(1000);
  });
});
