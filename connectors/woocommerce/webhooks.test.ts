// WooCommerce webhook verification and event mapping: signature vectors computed with openssl (not
// with our own code), the unsigned creation ping, tampering, every customer/order topic, and the
// dedupe key's behaviour on re-sends.
import { describe, expect, it } from 'vitest';
import type { WebhookVerifyInput } from '../sdk/types.ts';
import { readFixture } from './test-support.ts';
import { isPing, signWooPayload, verifyWooWebhook, wooEventId, wooToEvents, wooWebhooks } from './webhooks.ts';

const SECRET = 'wc-secret-&-more';
// printf '%s' '{"id":727,"status":"processing"}' | openssl dgst -sha256 -hmac 'wc-secret-&-more' -binary | base64
const VECTOR = { body: '{"id":727,"status":"processing"}', signature: 'HPazFjRgkQv8xP+N+SqNxA8E/I0iAScv75tqSVPUdZ8=' };

function input(body: string | Buffer, headers: Record<string, string | undefined>, secret = SECRET): WebhookVerifyInput {
  return {
    rawBody: Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8'),
    headers,
    url: 'https://gw.example/webhooks/woocommerce/c1',
    method: 'POST',
    secret,
    now: Date.now(),
  };
}

function delivery(topic: string, payload: unknown, extra: Record<string, string> = {}) {
  const body = Buffer.from(JSON.stringify(payload), 'utf8');
  const [resource, event] = topic.split('.');
  const headers = {
    'x-wc-webhook-topic': topic,
    'x-wc-webhook-resource': resource,
    'x-wc-webhook-event': event,
    'x-wc-webhook-id': '5',
    'x-wc-webhook-delivery-id': 'd41d8cd98f00b204e9800998ecf8427e',
    'x-wc-webhook-signature': signWooPayload(body, SECRET),
    ...extra,
  };
  return { body, headers };
}

describe('verify', () => {
  // Another secret and a missing header are the conformance suite's webhooks group (conformance.test.ts).
  it('accepts the openssl vector; a tampered or re-serialized body fails with the secret hint', () => {
    expect(signWooPayload(VECTOR.body, SECRET)).toBe(VECTOR.signature);
    expect(verifyWooWebhook(input(VECTOR.body, { 'x-wc-webhook-signature': VECTOR.signature })).ok).toBe(true);
    const tampered = verifyWooWebhook(input(VECTOR.body.replace('727', '728'), { 'x-wc-webhook-signature': VECTOR.signature }));
    expect(tampered).toMatchObject({ ok: false, error: { code: 'WEBHOOK_SIGNATURE_INVALID' } });
    if (!tampered.ok) expect(tampered.error.message).toMatch(/not the REST consumer secret/);
    // A re-serialized body (what a JSON-parsing proxy forwards) no longer matches.
    const pretty = JSON.stringify(JSON.parse(VECTOR.body), null, 2);
    expect(verifyWooWebhook(input(pretty, { 'x-wc-webhook-signature': VECTOR.signature })).ok).toBe(false);
  });

  it('knows the unsigned creation ping as a handshake (no change) and nothing else unsigned; verify never accepts it', () => {
    expect(isPing(Buffer.from('webhook_id=42'), {})).toBe(true);
    expect(wooWebhooks.isHandshake?.(Buffer.from('webhook_id=42'), { 'content-type': 'application/x-www-form-urlencoded' })).toBe(true);
    for (const body of ['webhook_id=42&x=1', 'webhook_id=', '{"webhook_id":42}', 'webhook_id=42\n{"id":1}']) {
      expect(isPing(Buffer.from(body), {}), body).toBe(false);
      expect(verifyWooWebhook(input(body, {})).ok, body).toBe(false);
    }
    // A handshake is answered before verification; verification itself never lets an unsigned body through.
    expect(verifyWooWebhook(input('webhook_id=42', {})).ok).toBe(false);
    // A signature header turns it into an ordinary delivery that must verify.
    expect(isPing(Buffer.from('webhook_id=42'), { 'x-wc-webhook-signature': 'bogus' })).toBe(false);
  });
});

describe('toEvents', () => {
  it('maps order.created / updated / restored to CREATED / UPDATED with the full model and a version', () => {
    const order = readFixture<Record<string, unknown>>('order-usd-partially-refunded.json');
    for (const [topic, type] of [
      ['order.created', 'CREATED'],
      ['order.updated', 'UPDATED'],
      ['order.restored', 'UPDATED'],
    ] as const) {
      const { body, headers } = delivery(topic, order);
      const result = wooToEvents(body, headers);
      expect(result.ok).toBe(true);
      if (!result.ok) continue;
      expect(result.value).toHaveLength(1);
      expect(result.value[0]).toMatchObject({
        type,
        entity: 'Order',
        remoteId: '727',
        occurredAt: '2026-03-15T15:40:12Z',
        version: Date.parse('2026-03-15T15:40:12Z'),
        model: { entity: 'Order', total: { amount: '93.43' } },
      });
    }
  });

  it('maps customer.* and the {id}-only *.deleted bodies', () => {
    const customer = readFixture('customer.json');
    const created = wooToEvents(...(Object.values(delivery('customer.created', customer)) as [Buffer, Record<string, string>]));
    expect(created).toMatchObject({ ok: true, value: [{ type: 'CREATED', entity: 'Contact', remoteId: '25', model: { name: 'Grace Hopper' } }] });
    const deleted = delivery('customer.deleted', { id: 25 });
    expect(wooToEvents(deleted.body, deleted.headers)).toMatchObject({
      ok: true,
      value: [{ type: 'DELETED', entity: 'Contact', remoteId: '25', model: null, version: null }],
    });
    const trashed = delivery('order.deleted', { id: 727 });
    expect(wooToEvents(trashed.body, trashed.headers)).toMatchObject({ ok: true, value: [{ type: 'DELETED', entity: 'Order', remoteId: '727' }] });
  });

  it("leaves a three-decimal order to be refetched (payload amounts are rounded to the store's decimals)", () => {
    const { body, headers } = delivery('order.updated', readFixture('order-kwd-refunded.json'));
    expect(wooToEvents(body, headers)).toMatchObject({ ok: true, value: [{ entity: 'Order', remoteId: '1301', model: null }] });
  });

  it('acknowledges other topics with no events and refuses broken bodies', () => {
    const product = delivery('product.updated', { id: 9, name: 'Hoodie' });
    expect(wooToEvents(product.body, product.headers)).toEqual({ ok: true, value: [] });
    const action = delivery('action.woocommerce_add_to_cart', { action: 'woocommerce_add_to_cart', arg: 'x' });
    expect(wooToEvents(action.body, action.headers)).toEqual({ ok: true, value: [] });
    const broken = delivery('order.updated', { status: 'processing' });
    expect(wooToEvents(broken.body, broken.headers)).toMatchObject({ ok: false, error: { code: 'UPSTREAM_BAD_RESPONSE' } });
    expect(wooToEvents(Buffer.from('{"id":'), delivery('order.updated', {}).headers)).toMatchObject({ ok: false });
  });

  it('needs the headers (topic and ids travel there)', () => {
    const { body, headers } = delivery('order.updated', readFixture('order-usd-partially-refunded.json'));
    expect(wooWebhooks.toEvents(Buffer.from(body))).toMatchObject({ ok: false });
    expect(wooWebhooks.toEvents(Buffer.from(body), headers)).toMatchObject({ ok: true, value: [{ type: 'UPDATED', remoteId: '727' }] });
  });
});

describe('dedupe key', () => {
  const order = readFixture<Record<string, unknown>>('order-usd-partially-refunded.json');
  const idOf = (topic: string, payload: unknown, extra: Record<string, string> = {}) => {
    const { body, headers } = delivery(topic, payload, extra);
    const r = wooToEvents(body, headers);
    if (!r.ok) throw r.error;
    return r.value[0]?.eventId;
  };

  it('is the same for a re-send of the same state, whatever its delivery id or webhook', () => {
    const first = idOf('order.updated', order, { 'x-wc-webhook-delivery-id': 'aaaa', 'x-wc-webhook-id': '5' });
    expect(idOf('order.updated', order, { 'x-wc-webhook-delivery-id': 'bbbb', 'x-wc-webhook-id': '9' })).toBe(first);
  });

  it('differs for another change in the same second, another topic, and every delete delivery', () => {
    const first = idOf('order.updated', order);
    expect(idOf('order.updated', { ...order, status: 'completed' })).not.toBe(first);
    expect(idOf('order.created', order)).not.toBe(first);
    expect(idOf('order.deleted', { id: 727 }, { 'x-wc-webhook-delivery-id': 'aaaa' })).not.toBe(
      idOf('order.deleted', { id: 727 }, { 'x-wc-webhook-delivery-id': 'bbbb' }),
    );
    expect(wooEventId('order.deleted', 727, null, Buffer.from('{"id":727}'), 'aaaa')).toBe('order.deleted:727:delivery:aaaa');
  });
});
