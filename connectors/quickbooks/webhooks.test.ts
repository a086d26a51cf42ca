// Intuit's webhook signature (reference vector from shared/providers/vectors.js) and both payload
// formats — the legacy eventNotifications and the CloudEvents array — as change events.
import { describe, expect, it } from 'vitest';
import { intuitEvents, quickbooksWebhooks, signIntuitPayload, SIGNATURE_HEADER } from './webhooks.ts';

const verify = (body: string, signature: string | undefined, secret = 'qbo-verifier-token') =>
  quickbooksWebhooks.verify({
    rawBody: Buffer.from(body),
    headers: { [SIGNATURE_HEADER]: signature },
    url: 'https://gw.example/webhooks/quickbooks',
    method: 'POST',
    secret,
    now: Date.now(),
  });

describe('intuit-signature', () => {
  it('matches the reference vector (HMAC-SHA256 of the raw body, base64)', () => {
    expect(signIntuitPayload('{"id":123}', 'qbo-verifier-token')).toBe('YNDvjULv3bxFvwXgaXS0ni8kIjYfLL1yNbeq05OOjyw=');
    expect(verify('{"id":123}', 'YNDvjULv3bxFvwXgaXS0ni8kIjYfLL1yNbeq05OOjyw=')).toEqual({ ok: true, value: undefined });
  });

  it('refuses a re-serialized body, another token and a missing header, naming the usual mistake', () => {
    const sig = signIntuitPayload('{"id":123}', 'qbo-verifier-token');
    const spaced = verify('{"id": 123}', sig);
    expect(spaced).toMatchObject({ ok: false, error: { code: 'WEBHOOK_SIGNATURE_INVALID' } });
    expect(verify('{"id":123}', sig, 'qbo-verifier-token ')).toMatchObject({ ok: false, error: { message: expect.stringMatching(/whitespace/) } });
    expect(verify('{"id":123}', undefined)).toMatchObject({ ok: false, error: { message: expect.stringMatching(/missing intuit-signature/) } });
    expect(verify('{"id":123}', 'not base64 at all')).toMatchObject({ ok: false });
  });
});

describe('toEvents', () => {
  it('maps the legacy notification: several companies, served entities only, merges, deletes', () => {
    const body = {
      eventNotifications: [
        {
          realmId: '1185883450',
          dataChangeEvent: {
            entities: [
              { name: 'Customer', id: '1', operation: 'Create', lastUpdated: '2015-10-05T14:42:19-0700' },
              { name: 'Invoice', id: '12', operation: 'Void', lastUpdated: '2026-03-01T10:00:00.000Z' },
              { name: 'Payment', id: '8001', operation: 'Create', lastUpdated: '2026-03-01T10:00:00.000Z' },
              { name: 'Customer', id: '5', operation: 'Merge', lastUpdated: '2026-03-01T10:00:01.000Z', deletedId: '9' },
            ],
          },
        },
        {
          realmId: '4620816365',
          dataChangeEvent: { entities: [{ name: 'SalesReceipt', id: '5001', operation: 'Delete', lastUpdated: '2026-03-01T11:00:00Z' }] },
        },
      ],
    };
    const result = intuitEvents(Buffer.from(JSON.stringify(body)));
    expect(result.ok).toBe(true);
    const events = result.ok ? result.value : [];
    expect(events.map((e) => [e.account, e.entity, e.remoteId, e.type])).toEqual([
      ['1185883450', 'Contact', '1', 'CREATED'],
      ['1185883450', 'Invoice', '12', 'UPDATED'],
      ['1185883450', 'Contact', '5', 'UPDATED'],
      ['1185883450', 'Contact', '9', 'DELETED'],
      ['4620816365', 'Order', '5001', 'DELETED'],
    ]);
    expect(events[0]).toMatchObject({ occurredAt: '2015-10-05T21:42:19.000Z', version: Date.parse('2015-10-05T21:42:19.000Z'), model: null });
    // No event id in the legacy format: one is built from what identifies the change.
    expect(events[1]!.eventId).toBe('1185883450:Invoice:12:Void:2026-03-01T10:00:00.000Z');
    expect(new Set(events.map((e) => e.eventId)).size).toBe(events.length);
  });

  it('maps the CloudEvents format by its id, type, entity and account', () => {
    const body = [
      {
        specversion: '1.0',
        id: '88cd52aa-33b6-4351-9aa2-67ef6d0ab2e4',
        source: 'intuit.dsnBgbseACLLRZNxo2dfc4evmEJdxde58xeeYcZliOU=',
        type: 'qbo.customer.created.v1',
        datacontenttype: 'application/json',
        time: '2025-09-10T21:31:25.179851517Z',
        intuitentityid: '1234',
        intuitaccountid: '310687',
        data: {},
      },
      { specversion: '1.0', id: 'b2', type: 'qbo.invoice.voided.v1', time: '2025-09-10T21:31:26Z', intuitentityid: '77', intuitaccountid: '310687', data: {} },
      { specversion: '1.0', id: 'b3', type: 'qbo.estimate.updated.v1', time: '2025-09-10T21:31:26Z', intuitentityid: '3', intuitaccountid: '310687', data: {} },
    ];
    const result = intuitEvents(Buffer.from(JSON.stringify(body)));
    expect(result).toMatchObject({
      ok: true,
      value: [
        {
          eventId: '88cd52aa-33b6-4351-9aa2-67ef6d0ab2e4',
          type: 'CREATED',
          entity: 'Contact',
          remoteId: '1234',
          account: '310687',
          occurredAt: '2025-09-10T21:31:25.179Z',
        },
        { eventId: 'b2', type: 'UPDATED', entity: 'Invoice', remoteId: '77' },
      ],
    });
    expect(result.ok && result.value).toHaveLength(2);
  });

  it('answers bodies that are not notifications with UPSTREAM_BAD_RESPONSE', () => {
    for (const odd of [
      '{}',
      'null',
      '"x"',
      '{"eventNotifications":[{"realmId":1}]}',
      '[{"id":1}]',
      '[{"id":"a","type":"nope","intuitentityid":"1","intuitaccountid":"2"}]',
    ]) {
      expect(intuitEvents(Buffer.from(odd)), odd).toMatchObject({ ok: false, error: { code: 'UPSTREAM_BAD_RESPONSE' } });
    }
    expect(intuitEvents(Buffer.from('[]'))).toEqual({ ok: true, value: [] });
  });
});
