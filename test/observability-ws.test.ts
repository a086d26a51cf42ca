// Operations over graphql-ws are logged and traced like HTTP requests (issue 14): one JSON line when
// a subscription starts and one when it stops (request id, tenant, operation, subscription id,
// duration, results, error codes, the socket's close code when the socket ended it; never the
// credential or the variables), one line when an operation is refused, and a span per operation
// when tracing is on. A failing subscription's error is masked and coded as HTTP answers are.
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
    // No x-request-id on the upgrade: the socket gets a new UUID, the same in both lines.
    expect(started.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(started.clientAddress).toMatch(/127\.0\.0\.1/);
    await sub.close();
    const stopped = await lineWhere((l) => l.msg === 'subscription stopped' && l.subscriptionId === started.subscriptionId);
    expect(stopped).toMatchObject({ requestId: started.requestId, tenantId: 'acme', operation: { type: 'subscription', name: 'WatchContacts' }, results: 0 });
    expect(stopped.errorCodes).toBeUndefined();
    expect(stopped.durationMs).toEqual(expect.any(Number));

    const span = exporter.getFinishedSpans().find((s) => s.name === 'graphql-ws subscription WatchContacts');
    expect(span?.attributes).toMatchObject({
      'graphql.operation.type': 'subscription',
      'graphql.operation.name': 'WatchContacts',
      'switchboard.tenant_id': 'acme',
      'switchboard.subscription_id': started.subscriptionId,
      'switchboard.request_id': started.requestId,
    });
    expect(raw).not.toContain(stack.apiKey);
  });

  it("takes the upgrade's x-request-id, answers it on the 101, and logs a refused operation once", async () => {
    let answered: string | undefined;
    // A real graphql-ws client whose socket sends x-request-id on the upgrade (as a proxy would).
    class TracedSocket extends WebSocket {
      constructor(url: string, protocols?: string | string[]) {
        super(url, protocols, { headers: { 'x-request-id': 'edge-req.42' } });
        this.on('upgrade', (res) => (answered = res.headers['x-request-id'] as string | undefined));
      }
    }
    const client = createClient({
      url: stack.gateway.url.replace(/^http/, 'ws'),
      webSocketImpl: TracedSocket,
      connectionParams: { Authorization: `Bearer ${stack.apiKey}` },
      retryAttempts: 0,
    });
    try {
      const refused = new Promise<unknown>((resolve) =>
        client.subscribe(
          { query: 'subscription Refused { contactChanged { noSuchField } }' },
          { next: () => undefined, error: resolve, complete: () => resolve(null) },
        ),
      );
      const errors = (await refused) as Array<{ extensions?: { code?: string } }>;
      expect(errors[0]?.extensions?.code).toBe('GRAPHQL_VALIDATION_FAILED');
      const line = await lineWhere((l) => l.msg === 'subscription refused' && l.requestId === 'edge-req.42');
      expect(line).toMatchObject({ level: 40, tenantId: 'acme', errorCodes: ['GRAPHQL_VALIDATION_FAILED'], subscriptionId: expect.any(String) });
      expect(answered).toBe('edge-req.42');

      client.subscribe(
        { query: SUBSCRIPTION.replace('WatchContacts', 'Tagged'), variables: { after: null } },
        { next: () => undefined, error: () => undefined, complete: () => undefined },
      );
      const started = await lineWhere((l) => l.msg === 'subscription started' && (l.operation as { name?: string })?.name === 'Tagged');
      expect(started.requestId).toBe('edge-req.42');
    } finally {
      await client.dispose();
    }
  });

  it('a subscription whose stream fails: the client gets a coded, masked error; the stop line and span carry the code', async () => {
    const log = stack.gateway.services.events!.log;
    const original = log.trimmedThrough;
    /** Subscribes with a replay whose first store read fails with `failure`; the client's errors. */
    const failWith = async (failure: Error, name: string) => {
      log.trimmedThrough = () => Promise.reject(failure);
      const client = createClient({
        url: stack.gateway.url.replace(/^http/, 'ws'),
        webSocketImpl: WebSocket,
        connectionParams: { authorization: `Bearer ${stack.apiKey}` },
        retryAttempts: 0,
      });
      try {
        return (await new Promise<unknown>((resolve) =>
          client.subscribe(
            { query: SUBSCRIPTION.replace('WatchContacts', name), variables: { after: '1-0' } },
            { next: () => undefined, error: resolve, complete: () => resolve('completed') },
          ),
        )) as Array<{ message: string; extensions?: Record<string, unknown> }>;
      } finally {
        log.trimmedThrough = original;
        await client.dispose();
      }
    };
    // An unexpected fault, with a connection string in its message that must not reach the client
    // (the operator's log gets it at error, with its stack, as for HTTP).
    const internal = await failWith(new Error('unexpected reply from redis://:hunter2@10.0.0.9:6379'), 'FailsInReplay');
    expect(internal).toEqual([expect.objectContaining({ message: 'Internal server error', extensions: { code: 'INTERNAL_SERVER_ERROR' } })]);
    const stopped = await lineWhere((l) => l.msg === 'subscription stopped' && (l.operation as { name?: string })?.name === 'FailsInReplay');
    expect(stopped.errorCodes).toEqual(['INTERNAL_SERVER_ERROR']);
    const span = exporter.getFinishedSpans().find((s) => s.name === 'graphql-ws subscription FailsInReplay');
    expect(span?.attributes['graphql.error_codes']).toEqual(['INTERNAL_SERVER_ERROR']);
    expect(span?.status.code).toBe(2); // SpanStatusCode.ERROR

    // A store outage: the public code clients retry on, without HTTP's status and headers.
    const outage = await failWith(Object.assign(new Error('connect ECONNREFUSED 10.0.0.9:6379'), { code: 'ECONNREFUSED' }), 'StoreDown');
    expect(outage).toEqual([expect.objectContaining({ extensions: { code: 'SERVICE_UNAVAILABLE' } })]);
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
