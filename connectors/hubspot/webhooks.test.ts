// HubSpot webhook verification (signature v3) and event mapping, against the documented vectors
// and the official SDK's signer.
import { Signature } from '@hubspot/api-client';
import { describe, expect, it } from 'vitest';
import type { ConnectorError } from '../sdk/errors.ts';
import type { ChangeEvent, Result, WebhookVerifyInput } from '../sdk/types.ts';
import { hubspot } from './index.ts';
import { hubspotManifest } from './manifest.ts';
import { hubspotWebhooks, SIGNATURE_TOLERANCE_MS, signedUri, signV3, toEvents, verify } from './webhooks.ts';

// providers/REFERENCE.md §8 (HubSpot's own documentation body; v3 vector cross-checked with the SDK).
const SECRET = 'yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy';
const BODY =
  '[{"eventId":1,"subscriptionId":12345,"portalId":62515,"occurredAt":1564113600000,"subscriptionType":"contact.creation","attemptNumber":0,"objectId":123,"changeSource":"CRM","changeFlag":"NEW","appId":54321}]';
const URI = 'https://example.com/webhooks/hubspot';
const TS = 1700000000000;
const V3 = 'I5P2ft9o2Bizs16Xe1mRRpu4RAxMKJRlMYpXY8g2CIk=';

function input(overrides: Partial<WebhookVerifyInput> = {}, headers?: Record<string, string | undefined>): WebhookVerifyInput {
  return {
    rawBody: Buffer.from(BODY, 'utf8'),
    headers: headers ?? { 'x-hubspot-signature-v3': V3, 'x-hubspot-request-timestamp': String(TS), 'content-type': 'application/json' },
    url: URI,
    method: 'POST',
    secret: SECRET,
    now: TS,
    ...overrides,
  };
}

/** A correctly signed request whose timestamp is `now + offsetMs`. */
function signedAt(now: number, offsetMs: number, url = URI, body = BODY): WebhookVerifyInput {
  const ts = now + offsetMs;
  return input(
    { url, now, rawBody: Buffer.from(body, 'utf8') },
    { 'x-hubspot-signature-v3': signV3(SECRET, 'POST', signedUri(url), body, ts), 'x-hubspot-request-timestamp': String(ts) },
  );
}

function errorOf<T>(result: Result<T>): ConnectorError {
  if (result.ok) throw new Error('expected a failure');
  return result.error;
}

describe('verify (signature v3)', () => {
  it('reproduces the reference vector and accepts it', () => {
    expect(signV3(SECRET, 'POST', URI, BODY, TS)).toBe(V3);
    expect(verify(input())).toEqual({ ok: true, value: undefined });
  });

  it('agrees with the official SDK signer (@hubspot/api-client Signature.getSignature)', () => {
    const sdk = (url: string, body: string, timestamp: number) =>
      Signature.getSignature('POST', 'v3', { signature: '', clientSecret: SECRET, requestBody: body, url, timestamp });
    expect(sdk(URI, BODY, TS)).toBe(V3);
    const now = Date.now();
    const url = 'https://gateway.example.org/webhooks/hubspot/conn_1?tenant=acme&x=1';
    const body = JSON.stringify([
      {
        eventId: 7,
        subscriptionId: 1,
        portalId: 62515,
        appId: 1,
        occurredAt: now,
        subscriptionType: 'contact.propertyChange',
        attemptNumber: 0,
        objectId: 9,
        changeSource: 'CRM_UI',
        propertyName: 'email',
        propertyValue: 'zoë@example.com',
      },
    ]);
    const headers = { 'x-hubspot-signature-v3': sdk(url, body, now - 1000), 'x-hubspot-request-timestamp': String(now - 1000) };
    expect(verify(input({ url, now, rawBody: Buffer.from(body, 'utf8') }, headers)).ok).toBe(true);
  });

  it("is the connector's webhooks implementation, matching the manifest", () => {
    expect(hubspot.webhooks).toBe(hubspotWebhooks);
    expect(hubspotManifest.webhooks.toleranceSeconds * 1000).toBe(SIGNATURE_TOLERANCE_MS);
    expect(hubspotManifest.webhooks.signatureHeader).toBe('x-hubspot-signature-v3');
    expect(hubspotManifest.webhooks.timestampHeader).toBe('x-hubspot-request-timestamp');
  });

  // A tampered body, another secret and a dropped header are the conformance suite's webhooks group
  // (conformance.test.ts); here what is HubSpot's own: v3 signs the method and the URI too.
  it('rejects another URL or method (v3 signs method + URI + body + timestamp)', () => {
    for (const bad of [input({ url: `${URI}?x=1` }), input({ method: 'PUT' })]) {
      const err = errorOf(verify(bad));
      expect(err.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      expect(err.retryable).toBe(false);
    }
  });

  it('never reveals the expected signature in its messages', () => {
    const tampered = input({ rawBody: Buffer.from(`${BODY} `, 'utf8') });
    const expected = signV3(SECRET, 'POST', URI, `${BODY} `, TS);
    const err = errorOf(verify(tampered));
    expect(err.message).not.toContain(expected);
    expect(err.message).not.toContain(expected.slice(0, 12));
    expect(err.message).not.toContain(SECRET);
  });

  it('rejects missing and garbled headers as WEBHOOK_SIGNATURE_INVALID', () => {
    const cases: Array<[Record<string, string | undefined>, RegExp]> = [
      [{ 'x-hubspot-request-timestamp': String(TS) }, /Signature-v3 header is missing/],
      [{ 'x-hubspot-signature': 'abc', 'x-hubspot-signature-version': 'v1', 'x-hubspot-request-timestamp': String(TS) }, /legacy/],
      [{ 'x-hubspot-signature-v3': V3 }, /Timestamp header is missing/],
      [{ 'x-hubspot-signature-v3': V3, 'x-hubspot-request-timestamp': '' }, /Timestamp header is missing/],
      [{ 'x-hubspot-signature-v3': V3, 'x-hubspot-request-timestamp': '2023-11-14T22:13:20Z' }, /not an integer/],
      [{ 'x-hubspot-signature-v3': V3, 'x-hubspot-request-timestamp': '-1' }, /not an integer/],
      [{ 'x-hubspot-signature-v3': 'not base64 at all', 'x-hubspot-request-timestamp': String(TS) }, /base64/],
      [{ 'x-hubspot-signature-v3': `${V3}, ${V3}`, 'x-hubspot-request-timestamp': String(TS) }, /base64/],
      [{ 'x-hubspot-signature-v3': Buffer.from(V3, 'base64').toString('hex'), 'x-hubspot-request-timestamp': String(TS) }, /hex-encoded/],
      [{}, /missing/],
    ];
    for (const [headers, message] of cases) {
      const err = errorOf(verify(input({}, headers)));
      expect(err.code).toBe('WEBHOOK_SIGNATURE_INVALID');
      expect(err.message).toMatch(message);
    }
    expect(errorOf(verify(input({ secret: '' }))).code).toBe('WEBHOOK_SIGNATURE_INVALID');
  });

  it('accepts ±299 s and exactly ±300 s, rejects ±301 s with WEBHOOK_TIMESTAMP_OUT_OF_RANGE', () => {
    const now = Date.now();
    for (const offset of [-299_000, 299_000, -300_000, 300_000, 0]) expect(verify(signedAt(now, offset)).ok, `offset ${offset}`).toBe(true);
    const old = errorOf(verify(signedAt(now, -301_000)));
    expect(old.code).toBe('WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
    expect(old.message).toMatch(/301 s old/);
    const future = errorOf(verify(signedAt(now, 301_000)));
    expect(future.code).toBe('WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
    expect(future.message).toMatch(/in the future/);
    // The reference vector is genuine but from 2023.
    expect(errorOf(verify(input({ now: Date.now() }))).code).toBe('WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
  });

  it('explains a timestamp in seconds', () => {
    const seconds = Math.floor(Date.now() / 1000);
    const headers = { 'x-hubspot-signature-v3': signV3(SECRET, 'POST', URI, BODY, seconds), 'x-hubspot-request-timestamp': String(seconds) };
    const err = errorOf(verify(input({ now: Date.now() }, headers)));
    expect(err.code).toBe('WEBHOOK_TIMESTAMP_OUT_OF_RANGE');
    expect(err.message).toMatch(/seconds; HubSpot sends milliseconds/);
  });

  it('decodes the escapes HubSpot lists before hashing the URI, and also accepts the URI as given', () => {
    const url = 'https://example.com/webhooks/hubspot?next=https%3A%2F%2Fapp.example%2Fa%2Cb&q=a%20b';
    expect(signedUri(url)).toBe('https://example.com/webhooks/hubspot?next=https://app.example/a,b&q=a%20b');
    const now = Date.now();
    const asDecoded = input(
      { url, now },
      { 'x-hubspot-signature-v3': signV3(SECRET, 'POST', signedUri(url), BODY, now), 'x-hubspot-request-timestamp': String(now) },
    );
    const asGiven = input({ url, now }, { 'x-hubspot-signature-v3': signV3(SECRET, 'POST', url, BODY, now), 'x-hubspot-request-timestamp': String(now) });
    expect(verify(asDecoded).ok).toBe(true);
    expect(verify(asGiven).ok).toBe(true);
    expect(signedUri('https://x.test/a%3a%2f')).toBe('https://x.test/a:/');
  });

  it('points at the scheme when the gateway sees http behind a TLS proxy', () => {
    const now = Date.now();
    const headers = { 'x-hubspot-signature-v3': signV3(SECRET, 'POST', URI, BODY, now), 'x-hubspot-request-timestamp': String(now) };
    const err = errorOf(verify(input({ url: URI.replace('https:', 'http:'), now }, headers)));
    expect(err.code).toBe('WEBHOOK_SIGNATURE_INVALID');
    expect(err.message).toMatch(/https:\/\/.*proxy/);
  });

  it('tolerates a lower-case method and never throws on odd input', () => {
    expect(verify(input({ method: 'post' })).ok).toBe(true);
    expect(() => verify(input({ url: 'not a url', now: Number.NaN }))).not.toThrow();
    expect(verify(input({ url: 'not a url' })).ok).toBe(false);
    expect(verify(input({ rawBody: Buffer.from([0xff, 0xfe, 0x00]) })).ok).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------

const base = { portalId: 62515, appId: 54321, occurredAt: 1_700_000_123_456, attemptNumber: 0, changeSource: 'CRM_UI' };
const body = (events: unknown): Buffer => Buffer.from(JSON.stringify(events), 'utf8');
function eventsOf(raw: Buffer): ChangeEvent[] {
  const result = toEvents(raw);
  if (!result.ok) throw result.error;
  return result.value;
}
const common = { occurredAt: new Date(1_700_000_123_456).toISOString(), version: 1_700_000_123_456, model: null, account: '62515' };

describe('toEvents', () => {
  it('maps the documented example', () => {
    expect(eventsOf(Buffer.from(BODY, 'utf8'))).toEqual([
      {
        eventId: '62515:12345:1',
        type: 'CREATED',
        entity: 'Contact',
        remoteId: '123',
        occurredAt: '2019-07-26T04:00:00.000Z',
        version: 1564113600000,
        model: null,
        account: '62515',
      },
    ]);
  });

  it('maps every contact.* subscription type', () => {
    const events = eventsOf(
      body([
        { ...base, eventId: 1, subscriptionId: 10, subscriptionType: 'contact.creation', objectId: 101, changeFlag: 'NEW' },
        { ...base, eventId: 2, subscriptionId: 11, subscriptionType: 'contact.propertyChange', objectId: 101, propertyName: 'email', propertyValue: 'a@b.c' },
        { ...base, eventId: 3, subscriptionId: 12, subscriptionType: 'contact.deletion', objectId: 102, changeFlag: 'DELETED' },
        { ...base, eventId: 4, subscriptionId: 13, subscriptionType: 'contact.restore', objectId: 102 },
        { ...base, eventId: 5, subscriptionId: 14, subscriptionType: 'contact.privacyDeletion', objectId: 103 },
      ]),
    );
    expect(events).toEqual([
      { ...common, eventId: '62515:10:1', type: 'CREATED', entity: 'Contact', remoteId: '101' },
      { ...common, eventId: '62515:11:2', type: 'UPDATED', entity: 'Contact', remoteId: '101' },
      { ...common, eventId: '62515:12:3', type: 'DELETED', entity: 'Contact', remoteId: '102' },
      { ...common, eventId: '62515:13:4', type: 'CREATED', entity: 'Contact', remoteId: '102' },
      { ...common, eventId: '62515:14:5', type: 'DELETED', entity: 'Contact', remoteId: '103' },
    ]);
  });

  it('maps a merge to an update of the survivor and deletions of the merged records', () => {
    const merge = {
      ...base,
      eventId: 9,
      subscriptionId: 20,
      subscriptionType: 'contact.merge',
      objectId: 201,
      primaryObjectId: 201,
      mergedObjectIds: [202, 203],
      newObjectId: 201,
      numberOfPropertiesMoved: 4,
    };
    expect(eventsOf(body([merge]))).toEqual([
      { ...common, eventId: '62515:20:9', type: 'UPDATED', entity: 'Contact', remoteId: '201' },
      { ...common, eventId: '62515:20:9:202', type: 'DELETED', entity: 'Contact', remoteId: '202' },
      { ...common, eventId: '62515:20:9:203', type: 'DELETED', entity: 'Contact', remoteId: '203' },
    ]);
    // A merge that produced a new record: it is created, both inputs are gone.
    const created = eventsOf(body([{ ...merge, newObjectId: 300 }]));
    expect(created.map((e) => [e.type, e.remoteId])).toEqual([
      ['CREATED', '300'],
      ['DELETED', '201'],
      ['DELETED', '202'],
      ['DELETED', '203'],
    ]);
    expect(new Set(created.map((e) => e.eventId)).size).toBe(4);
  });

  it('maps generic object.* events by objectTypeId', () => {
    const events = eventsOf(
      body([
        { ...base, eventId: 1, subscriptionId: 30, subscriptionType: 'object.creation', objectTypeId: '0-53', objectId: 30001, changeFlag: 'NEW' },
        {
          ...base,
          eventId: 2,
          subscriptionId: 31,
          subscriptionType: 'object.propertyChange',
          objectTypeId: '0-53',
          objectId: 30001,
          propertyName: 'hs_invoice_status',
          propertyValue: 'paid',
        },
        { ...base, eventId: 3, subscriptionId: 32, subscriptionType: 'object.deletion', objectTypeId: '0-53', objectId: 30002 },
        { ...base, eventId: 4, subscriptionId: 40, subscriptionType: 'object.creation', objectTypeId: '0-123', objectId: 50001 },
        {
          ...base,
          eventId: 5,
          subscriptionId: 41,
          subscriptionType: 'object.propertyChange',
          objectTypeId: '0-123',
          objectId: 50001,
          propertyName: 'hs_pipeline_stage',
          propertyValue: 'shipped',
        },
        { ...base, eventId: 6, subscriptionId: 42, subscriptionType: 'object.deletion', objectTypeId: '0-123', objectId: 50002 },
        {
          ...base,
          eventId: 7,
          subscriptionId: 50,
          subscriptionType: 'object.propertyChange',
          objectTypeId: '0-1',
          objectId: 1001,
          propertyName: 'phone',
          propertyValue: '',
        },
      ]),
    );
    expect(events.map((e) => [e.eventId, e.type, e.entity, e.remoteId])).toEqual([
      ['62515:30:1', 'CREATED', 'Invoice', '30001'],
      ['62515:31:2', 'UPDATED', 'Invoice', '30001'],
      ['62515:32:3', 'DELETED', 'Invoice', '30002'],
      ['62515:40:4', 'CREATED', 'Order', '50001'],
      ['62515:41:5', 'UPDATED', 'Order', '50001'],
      ['62515:42:6', 'DELETED', 'Order', '50002'],
      ['62515:50:7', 'UPDATED', 'Contact', '1001'],
    ]);
    for (const e of events) {
      expect(e.model).toBeNull();
      expect(e.version).toBe(base.occurredAt);
    }
  });

  it('skips subscription types it does not map, without failing the batch', () => {
    const events = eventsOf(
      body([
        { ...base, eventId: 1, subscriptionId: 1, subscriptionType: 'deal.creation', objectId: 5 },
        { ...base, eventId: 2, subscriptionId: 2, subscriptionType: 'object.creation', objectTypeId: '0-2', objectId: 6 },
        { ...base, eventId: 3, subscriptionId: 3, subscriptionType: 'object.creation', objectId: 7 },
        {
          ...base,
          eventId: 4,
          subscriptionId: 4,
          subscriptionType: 'contact.associationChange',
          fromObjectId: 1,
          toObjectId: 2,
          associationType: 'CONTACT_TO_COMPANY',
          associationRemoved: false,
        },
        { ...base, eventId: 5, subscriptionId: 5, subscriptionType: 'conversation.creation', objectId: 8 },
        { ...base, eventId: 6, subscriptionId: 6, subscriptionType: 'contact.toString', objectId: 9 },
        { ...base, eventId: 7, subscriptionId: 7, subscriptionType: 'object.privacyDeletion', objectTypeId: '0-1', objectId: 10 },
        { ...base, eventId: 8, subscriptionId: 8, subscriptionType: 'contact.creation', objectId: 11 },
      ]),
    );
    expect(events.map((e) => e.eventId)).toEqual(['62515:8:8']);
    expect(eventsOf(body([]))).toEqual([]);
  });

  it('accepts ids sent as numeric strings', () => {
    const [event] = eventsOf(body([{ ...base, portalId: '62515', eventId: '77', subscriptionId: '5', subscriptionType: 'contact.creation', objectId: '42' }]));
    expect(event).toMatchObject({ eventId: '62515:5:77', remoteId: '42' });
    const [big] = eventsOf(body([{ ...base, eventId: 2 ** 60, subscriptionId: 5, subscriptionType: 'contact.creation', objectId: 42 }]));
    expect(big?.eventId).toBe('62515:5:1152921504606846976');
  });

  it('refuses a body of more than 100 events (HubSpot never sends one) and takes exactly 100', () => {
    const events = (n: number) =>
      Array.from({ length: n }, (_, i) => ({ ...base, eventId: i + 1, subscriptionId: 5, subscriptionType: 'contact.creation', objectId: i + 1 }));
    expect(eventsOf(body(events(100)))).toHaveLength(100);
    const err = errorOf(toEvents(body(events(101))));
    expect(err.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(err.message).toMatch(/101 events; HubSpot sends at most 100/);
  });

  it('answers UPSTREAM_BAD_RESPONSE for malformed JSON, a non-array, or a broken known event', () => {
    const secretish = '{"eventId": "pat-na1-secret-looking-text"';
    const notJson = errorOf(toEvents(Buffer.from(secretish, 'utf8')));
    expect(notJson.code).toBe('UPSTREAM_BAD_RESPONSE');
    expect(notJson.message).not.toContain('pat-na1');
    for (const raw of ['{"eventId":1}', 'null', '"x"', '42']) {
      expect(errorOf(toEvents(Buffer.from(raw, 'utf8'))).code).toBe('UPSTREAM_BAD_RESPONSE');
    }
    const broken: unknown[] = [
      [1],
      [{ ...base, eventId: 1, subscriptionId: 1 }],
      [{ ...base, eventId: 1, subscriptionId: 1, subscriptionType: 'contact.creation' }],
      [{ ...base, eventId: 1.5, subscriptionId: 1, subscriptionType: 'contact.creation', objectId: 1 }],
      [{ ...base, occurredAt: '2024-01-01', eventId: 1, subscriptionId: 1, subscriptionType: 'contact.creation', objectId: 1 }],
    ];
    for (const b of broken) {
      const err = errorOf(toEvents(body(b)));
      expect(err.code).toBe('UPSTREAM_BAD_RESPONSE');
      expect(err.message).toMatch(/event \[0\]/);
    }
  });
});
