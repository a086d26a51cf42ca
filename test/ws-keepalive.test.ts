// The gateway's own socket handling (graphql-ws's protocol server without its useServer): every
// socket is pinged each socketKeepAliveMs; a client that stops answering pings is terminated while
// one that answers stays open and keeps its subscription; a socket that never sends
// connection_init is closed with 4408.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultGatewayConfig } from '../src/config.ts';
import { startStack, type Stack } from './helpers.ts';

const KEEP_ALIVE_MS = 240;
/** limits.socketInitTimeoutMs, shorter than its 3 s default so the wait is measurable here. */
const INIT_TIMEOUT_MS = 400;

/** Pings each socket received (counted from the moment it opens). */
const pings = new WeakMap<WebSocket, number>();

/** A raw graphql-transport-ws socket; `autoPong: false` makes a peer that no longer answers pings. */
function open(url: string, autoPong = true): Promise<WebSocket> {
  const socket = new WebSocket(url.replace(/^http/, 'ws'), 'graphql-transport-ws', { autoPong });
  pings.set(socket, 0);
  socket.on('ping', () => pings.set(socket, (pings.get(socket) ?? 0) + 1));
  return new Promise((resolve, reject) => {
    socket.once('open', () => resolve(socket));
    socket.once('error', reject);
  });
}

function nextMessage(socket: WebSocket): Promise<{ type: string; id?: string }> {
  return new Promise((resolve) => socket.once('message', (data) => resolve(JSON.parse(String(data)) as { type: string; id?: string })));
}

function closed(socket: WebSocket): Promise<number> {
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

async function subscribed(url: string, apiKey: string, autoPong: boolean): Promise<WebSocket> {
  const socket = await open(url, autoPong);
  const ack = nextMessage(socket);
  socket.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${apiKey}` } }));
  expect((await ack).type).toBe('connection_ack');
  socket.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: 'subscription { contactChanged { eventId } }' } }));
  return socket;
}

describe('graphql-ws keep-alive and connection_init wait', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      config: { limits: { ...defaultGatewayConfig([]).limits, socketKeepAliveMs: KEEP_ALIVE_MS, socketInitTimeoutMs: INIT_TIMEOUT_MS } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('terminates a socket that stops answering pings; one that answers stays open, pinged every period', async () => {
    const silent = await subscribed(stack.gateway.url, stack.apiKey, false);
    const healthy = await subscribed(stack.gateway.url, stack.apiKey, true);
    const healthyClosed = closed(healthy);
    // Terminated (no close frame: 1006 at the client) once a ping went unanswered for a period.
    expect(await closed(silent)).toBe(1006);
    expect(pings.get(silent)).toBeGreaterThanOrEqual(1);
    // The answering socket outlives it by several periods, and its subscription still delivers.
    const healthySeen = pings.get(healthy) ?? 0;
    await new Promise<void>((resolve) => {
      const seen = () => {
        if ((pings.get(healthy) ?? 0) < healthySeen + 4) return;
        healthy.off('ping', seen);
        resolve();
      };
      healthy.on('ping', seen);
    });
    expect(healthy.readyState).toBe(WebSocket.OPEN);
    const delivered = nextMessage(healthy);
    await stack.gateway.services.events.log.append({
      tenantId: stack.gateway.services.config.tenants[0]!.id,
      connectionId: 'acme-hubspot',
      provider: 'hubspot',
      entity: 'Contact',
      eventId: 'evt-keepalive',
      type: 'DELETED',
      occurredAt: new Date().toISOString(),
      remoteId: 'keepalive-1',
      model: null,
      publishedAt: new Date().toISOString(),
    });
    expect(await delivered).toMatchObject({ id: '1', type: 'next', payload: { data: { contactChanged: { eventId: 'evt-keepalive' } } } });
    healthy.close(1000);
    expect(await healthyClosed).toBe(1000);
  });

  it('closes a socket that never sends connection_init with 4408, after limits.socketInitTimeoutMs', async () => {
    const opened = performance.now();
    const socket = await open(stack.gateway.url);
    expect(await closed(socket)).toBe(4408);
    // The configured wait, not the 3 s default (a lower bound only: the machine may be slow).
    const waited = performance.now() - opened;
    expect(waited).toBeGreaterThanOrEqual(INIT_TIMEOUT_MS - 50);
    expect(waited).toBeLessThan(3_000);
  });
});
