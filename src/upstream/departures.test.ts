// Departures: left() waits for the calls begun before it (and for calls a call starts on its way
// out), never for longer than its cap; the upstream client counts a call until it reaches the
// transport, past a rate budget that takes round trips.
import { describe, expect, it } from 'vitest';
import type { ConnectorManifest } from '../../connectors/sdk/types.ts';
import { DEFAULT_UPSTREAM_OPTIONS, UpstreamClient } from './client.ts';
import { Departures } from './departures.ts';
import type { Transport } from './transport.ts';

/** Resolves after `turns` macrotask turns: a stand-in for a Redis round trip. */
const turns = async (n: number) => {
  for (let i = 0; i < n; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe('Departures.left', () => {
  it('resolves once every call begun has left, not before', async () => {
    const departures = new Departures();
    const done = departures.begin();
    const order: string[] = [];
    const waiting = departures.left(10_000).then(() => order.push('left'));
    await turns(5);
    order.push('call leaves');
    done();
    await waiting;
    expect(order).toEqual(['call leaves', 'left']);
  });

  it('waits for a call begun within the first turn, and for one that a call starts as it leaves', async () => {
    const departures = new Departures();
    const order: string[] = [];
    // Begun down a promise chain, after left() was asked.
    void Promise.resolve().then(() => {
      const cacheRead = departures.begin();
      void turns(3).then(() => {
        // The read missed: the connector's call begins, then the read's part ends.
        const call = departures.begin();
        cacheRead();
        void turns(3).then(() => {
          order.push('call leaves');
          call();
        });
      });
    });
    await departures.left(10_000);
    order.push('left');
    expect(order).toEqual(['call leaves', 'left']);
  });

  it('does not wait past its cap for a call that does not leave (held by its rate budget)', async () => {
    const departures = new Departures();
    departures.begin();
    const started = performance.now();
    await departures.left(20);
    expect(performance.now() - started).toBeGreaterThanOrEqual(19);
  });
});

describe('UpstreamClient with departures', () => {
  it('counts a call until the transport has it, past a rate budget that answers after a round trip', async () => {
    const events: string[] = [];
    // The provider answers only after left() resolved: a call counted until its answer would hold left() to its cap.
    let answer!: () => void;
    const answered = new Promise<void>((resolve) => (answer = resolve));
    const transport: Transport = async () => {
      events.push('transport');
      await answered;
      return { status: 200, headers: new Headers({ 'content-type': 'application/json' }), text: '{}' };
    };
    const slowBudget = () => ({
      acquire: async () => {
        await turns(4);
        return () => undefined;
      },
    });
    const manifest = { id: 'fake', displayName: 'Fake', auth: { apiKey: { label: 'key' } }, rateLimits: { windows: [] } } as unknown as ConnectorManifest;
    const departures = new Departures();
    const fetch = new UpstreamClient(null, DEFAULT_UPSTREAM_OPTIONS, transport, slowBudget).forScope({
      manifest,
      connection: { id: 'c1', tenantId: 't1', provider: 'fake', baseUrl: 'http://127.0.0.1:9', settings: {} },
      signal: new AbortController().signal,
      deadline: Date.now() + 5_000,
      departures,
    });
    const call = fetch({ operation: 'test', path: '/x' });
    await departures.left(60_000);
    events.push('left');
    answer();
    await call;
    expect(events).toEqual(['transport', 'left']);
  });
});
