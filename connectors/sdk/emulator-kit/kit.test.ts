// The emulator kit: rate windows on their own, and the admin API's contract checked against every
// registered emulator, so the routes and status codes cannot drift apart again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../../registry.ts';
import type { EmulatorHandle } from '../emulator.ts';
import { DAY_MS, RateWindows, type RateWindow } from './rate-windows.ts';
import { pushBounded } from './wire.ts';

describe('pushBounded', () => {
  it('keeps at most the limit plus a tenth, and always the newest entries', () => {
    const log: number[] = [];
    for (let i = 0; i < 1_000; i++) {
      pushBounded(log, i, 100);
      expect(log.length).toBeLessThanOrEqual(110);
      expect(log.at(-1)).toBe(i);
    }
    // Entries stay in order, without gaps.
    expect(log).toEqual(Array.from({ length: log.length }, (_, k) => 1_000 - log.length + k));
    expect(log.length).toBeGreaterThanOrEqual(100);
  });
});

describe('RateWindows', () => {
  const burst: RateWindow = { name: 'burst', max: 2, intervalMs: 1000 };
  const daily: RateWindow = { name: 'daily', max: 3, intervalMs: DAY_MS, kind: 'fixed' };

  it('rolls a window per key and says which window refused and for how long', () => {
    const w = new RateWindows();
    expect(w.take('a', [burst], 0).allowed).toBe(true);
    expect(w.take('a', [burst], 400).allowed).toBe(true);
    expect(w.take('a', [burst], 900)).toEqual({ allowed: false, window: burst, retryAfterMs: 100 });
    expect(w.take('b', [burst], 900).allowed).toBe(true);
    // The first hit left the window at 1000 ms.
    expect(w.take('a', [burst], 1001).allowed).toBe(true);
    expect(w.remaining('a', burst, 1001)).toBe(0);
    expect(w.remaining('a', burst, 1401)).toBe(1);
  });

  it('counts a request in every window or in none, and resets fixed windows at their boundary', () => {
    const w = new RateWindows();
    const day = 10 * DAY_MS;
    expect(w.take('k', [daily, burst], day).allowed).toBe(true);
    expect(w.take('k', [daily, burst], day + 1).allowed).toBe(true);
    // The burst window refuses: the daily window must not count it.
    expect(w.take('k', [daily, burst], day + 2)).toMatchObject({ allowed: false, window: burst });
    expect(w.remaining('k', daily, day + 2)).toBe(1);
    expect(w.take('k', [daily, burst], day + 5000).allowed).toBe(true);
    expect(w.take('k', [daily, burst], day + 10_000)).toMatchObject({ allowed: false, window: daily, retryAfterMs: DAY_MS - 10_000 });
    expect(w.take('k', [daily, burst], day + DAY_MS).allowed).toBe(true);
    w.reset();
    expect(w.remaining('k', daily, day + DAY_MS)).toBe(3);
  });
});

describe.each(CONNECTORS.map((c) => [c.connector.manifest.id, c] as const))('admin API contract: %s emulator', (_id, registered) => {
  const sendsWebhooks = registered.connector.manifest.events?.source !== 'polling';
  let em: EmulatorHandle;
  beforeAll(async () => {
    em = await registered.startEmulator({ credentials: ['kit-test-token'], scale: { contacts: 3, invoices: 2, orders: 2 } });
  });
  afterAll(async () => {
    await em?.stop();
  });

  const admin = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${em.url}/__emulator${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : null };
  };

  it('answers the same statuses and error body for the base routes', async () => {
    expect(await admin('GET', '/requests')).toEqual({ status: 200, body: { total: 0, byOperation: {} } });
    expect(await admin('DELETE', '/requests')).toEqual({ status: 204, body: null });
    expect(await admin('POST', '/faults', { kind: 'status', status: 503, times: 1 })).toEqual({ status: 201, body: { kind: 'status', status: 503, times: 1 } });
    expect(await admin('POST', '/faults', { kind: 'explode' })).toEqual({ status: 400, body: { error: 'bad_request', message: expect.any(String) } });
    expect(await admin('POST', '/faults', '{"kind":')).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect(await admin('DELETE', '/faults')).toEqual({ status: 204, body: null });
    expect(await admin('PUT', '/latency', { ms: 0 })).toEqual({ status: 200, body: { ms: 0 } });
    expect(await admin('PUT', '/latency', { ms: 'soon' })).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect(await admin('GET', '/no-such-route')).toEqual({ status: 404, body: { error: 'not_found', message: expect.any(String) } });
    if (sendsWebhooks) expect(await admin('PATCH', '/webhook')).toEqual({ status: 405, body: { error: 'method_not_allowed', message: expect.any(String) } });
    // A provider without webhooks (its changes are polled) serves no webhook admin route.
    else expect(await admin('PUT', '/webhook', { url: 'http://127.0.0.1:9/hook', secret: 's' })).toMatchObject({ status: 404, body: { error: 'not_found' } });
  });

  it.runIf(sendsWebhooks)('configures the webhook target the same way', async () => {
    expect(await admin('PUT', '/webhook', { url: 'ftp://127.0.0.1/hook', secret: 's' })).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect(await admin('PUT', '/webhook', { url: 'http://127.0.0.1:9/hook' })).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    const put = await admin('PUT', '/webhook', { url: 'http://127.0.0.1:9/hook', secret: 'kit-secret', retryDelaysMs: [10] });
    expect(put).toEqual({
      status: 200,
      body: {
        target: { url: 'http://127.0.0.1:9/hook', retryDelaysMs: [10], maxConcurrentRequests: expect.any(Number) },
        state: { buffered: 0, queued: 0, inFlight: 0, retrying: 0, timers: 0 },
      },
    });
    expect(JSON.stringify(put.body)).not.toContain('kit-secret');
    expect((await admin('GET', '/webhook')).body).toMatchObject({ target: { url: 'http://127.0.0.1:9/hook' }, state: { queued: 0 }, deliveries: [] });
    expect(await admin('DELETE', '/webhook')).toEqual({ status: 204, body: null });
    expect((await admin('GET', '/webhook')).body).toMatchObject({ target: null });
  });

  it('refuses unknown record types and bad bodies with 404 and 400', async () => {
    expect(await admin('POST', '/records/widgets', {})).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await admin('PATCH', '/records/widgets/1', {})).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await admin('DELETE', '/records/widgets/1')).toMatchObject({ status: 404, body: { error: 'not_found' } });
    expect(await admin('POST', '/records/widgets', '[1]')).toMatchObject({ status: 400, body: { error: 'bad_request' } });
  });

  it.skipIf(!registered.connector.manifest.auth.oauth2)('serves the OAuth switches the same way (providers with OAuth)', async () => {
    const state = await admin('GET', '/oauth');
    expect(state.status).toBe(200);
    expect(state.body).toMatchObject({ rotateRefreshTokens: expect.any(Boolean), liveAccessTokens: 0, grants: [] });
    expect(await admin('PUT', '/oauth', { rotateRefreshTokens: 'yes' })).toMatchObject({ status: 400, body: { error: 'bad_request' } });
    expect(await admin('PUT', '/oauth', { expireAllAccessTokens: true })).toMatchObject({ status: 200, body: { liveAccessTokens: 0 } });
  });

  it('POST /reset clears the request log, faults and latency', async () => {
    await fetch(`${em.url}/no/such/provider/route`, { headers: { authorization: 'Bearer kit-test-token' } });
    await admin('POST', '/faults', { kind: 'status', status: 500 });
    await admin('PUT', '/latency', { ms: 5000 });
    expect(((await admin('GET', '/requests')).body as { total: number }).total).toBeGreaterThan(0);
    expect(await admin('POST', '/reset')).toEqual({ status: 204, body: null });
    expect((await admin('GET', '/requests')).body).toEqual({ total: 0, byOperation: {} });
    // Neither the fault nor the latency is left: an API call answers at once, without a 500.
    const started = Date.now();
    const res = await fetch(`${em.url}/no/such/provider/route`, { headers: { authorization: 'Bearer kit-test-token' } });
    expect(res.status).not.toBe(500);
    expect(Date.now() - started).toBeLessThan(2000);
  });
});
