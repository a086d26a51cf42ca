// Xero webhook verification and mapping: the reference signature vector, the Intent-to-Receive
// payload, events → changes (refetched by id), and what is skipped.
import { describe, expect, it } from 'vitest';
import { readFixture } from './test-support.ts';
import { SIGNATURE_HEADER, signXeroPayload, xeroWebhooks } from './webhooks.ts';

const KEY = 'xero-webhook-key';
const verify = (body: string, signature: string | undefined, secret = KEY) =>
  xeroWebhooks.verify({
    rawBody: Buffer.from(body),
    headers: { [SIGNATURE_HEADER]: signature },
    url: 'https://gw.example/webhooks/xero',
    method: 'POST',
    secret,
    now: Date.now(),
  });

describe('x-xero-signature', () => {
  it('matches the reference vector (base64 HMAC-SHA256 of the raw body, computed with Node crypto in REFERENCE.md §8)', () => {
    expect(signXeroPayload('{"id":123}', KEY)).toBe('hOwRNWmxjC04zxoU3tGaHfq/6mPK/HylZg9QsHibPg0=');
    expect(verify('{"id":123}', 'hOwRNWmxjC04zxoU3tGaHfq/6mPK/HylZg9QsHibPg0=')).toEqual({ ok: true, value: undefined });
  });

  it('signs the exact bytes: a re-serialized body no longer matches', () => {
    const raw = '{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}';
    const signature = signXeroPayload(raw, KEY);
    expect(verify(raw, signature).ok).toBe(true);
    expect(verify(JSON.stringify(JSON.parse(raw), null, 1), signature)).toMatchObject({ ok: false, error: { code: 'WEBHOOK_SIGNATURE_INVALID' } });
  });

  it('names the usual mistakes: a missing header, whitespace around the key', () => {
    expect(verify('{}', undefined)).toMatchObject({ ok: false, error: { message: expect.stringContaining('missing x-xero-signature') } });
    expect(verify('{}', signXeroPayload('{}', KEY), ` ${KEY}\n`)).toMatchObject({ ok: false, error: { message: expect.stringContaining('whitespace') } });
  });
});

describe('toEvents', () => {
  it('turns contact and invoice events into id-only changes routed by organisation, and skips credit notes', () => {
    const result = xeroWebhooks.toEvents(Buffer.from(JSON.stringify(readFixture('webhook-events.json'))));
    expect(result.ok).toBe(true);
    const events = result.ok ? result.value : [];
    expect(events).toEqual([
      {
        eventId: 'c2cc9b6e-9458-4c7d-93cc-f02b81b0594f:CONTACT:717f2bfc-c6d4-41fd-b238-3f2f0c0cf777:UPDATE:2026-01-21T01:15:39.902',
        type: 'UPDATED',
        entity: 'Contact',
        remoteId: '717f2bfc-c6d4-41fd-b238-3f2f0c0cf777',
        occurredAt: '2026-01-21T01:15:39.902Z',
        version: Date.parse('2026-01-21T01:15:39.902Z'),
        model: null,
        account: 'c2cc9b6e-9458-4c7d-93cc-f02b81b0594f',
      },
      expect.objectContaining({ type: 'CREATED', entity: 'Invoice', remoteId: '046d8a6d-1ae1-4b4d-9340-5601bdf41b87', model: null }),
    ]);
    expect(xeroWebhooks.accountSetting).toBe('xeroTenantId');
  });

  it('maps the Intent-to-Receive payload to no change (the route then answers 200 with no body and queues nothing)', () => {
    const body = Buffer.from('{"events":[],"lastEventSequence":0,"firstEventSequence":0,"entropy":"S0m3r4Nd0mt3xt"}');
    expect(xeroWebhooks.toEvents(body)).toEqual({ ok: true, value: [] });
    // Never answered before verification: a wrongly signed handshake must get its 401.
    expect(xeroWebhooks.isHandshake).toBeUndefined();
  });

  it('refuses an event without its identity fields', () => {
    const body = JSON.stringify({ events: [{ eventCategory: 'INVOICE', eventType: 'UPDATE', tenantId: 't' }] });
    expect(xeroWebhooks.toEvents(Buffer.from(body))).toMatchObject({ ok: false, error: { code: 'UPSTREAM_BAD_RESPONSE' } });
  });
});
