// Secrets never leave: provider credentials and tenant API keys appear in no response and no log
// line, including when providers reject them and when things fail unexpectedly.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from '../src/callers/tenants.ts';
import { createLogger } from '../src/observability/logger.ts';
import { TOKENS, startStack, type Stack } from './helpers.ts';

const WRONG_STRIPE_KEY = 'sk_test_wrongwrongwrongwrongwrong9876';
const WRONG_HUBSPOT_TOKEN = 'pat-na1-wrong000-0000-4000-8000-000000009876';
const OTHER_KEY = 'sb_test_other_tenant_key_0000000000001';

describe('secrets', () => {
  let stack: Stack;
  let logs = '';
  beforeAll(async () => {
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        logs += chunk.toString();
        done();
      },
    });
    stack = await startStack({
      redisUrl: null,
      scale: { contacts: 10, invoices: 10, orders: 5 },
      gatewayOptions: { logger: createLogger('debug', sink) },
      extraTenants: (e) => [
        {
          id: 'badcreds',
          apiKeys: [{ id: 'k', sha256: hashApiKey(OTHER_KEY) }],
          connections: [
            { id: 'bad-hubspot', provider: 'hubspot', baseUrl: e.hubspot.url, credentials: { type: 'static', token: WRONG_HUBSPOT_TOKEN }, settings: {} },
            { id: 'bad-stripe', provider: 'stripe', baseUrl: e.stripe.url, credentials: { type: 'static', token: WRONG_STRIPE_KEY }, settings: {} },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('reports rejected provider credentials without echoing them, in responses or logs', async () => {
    const res = await stack.query<{ hs: unknown; st: unknown }>(
      '{ hs: contacts(first: 2, filter: { provider: "hubspot" }) { nodes { id } } st: invoices(first: 2, filter: { provider: "stripe" }) { nodes { id } } }',
      {},
      OTHER_KEY,
    );
    expect(res.errors?.map((e) => e.extensions?.code)).toEqual(['UPSTREAM_UNAUTHORIZED', 'UPSTREAM_UNAUTHORIZED']);
    const body = JSON.stringify(res);
    expect(logs).toContain('UPSTREAM_UNAUTHORIZED'); // the failure is logged...
    for (const secret of [WRONG_STRIPE_KEY, WRONG_HUBSPOT_TOKEN, WRONG_STRIPE_KEY.slice(8), OTHER_KEY]) {
      expect(body).not.toContain(secret); // ...but no credential is, anywhere
      expect(logs).not.toContain(secret);
    }
  });

  it('keeps the good credentials and API keys out of logs during normal traffic', async () => {
    await stack.query('{ contacts(first: 5) { nodes { id raw } } invoices(first: 5) { nodes { raw } } }');
    await stack.query('{ contacts(first: 1) { nodes { id } } }', {}, 'sb_test_not_a_real_key_123456');
    for (const secret of [TOKENS.hubspot, TOKENS.stripe, stack.apiKey, 'sb_test_not_a_real_key_123456']) expect(logs).not.toContain(secret);
  });
});
