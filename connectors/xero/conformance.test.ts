// The shared connector conformance suite, run against the Xero emulator, on its first organisation.
import { runConformanceSuite } from '../sdk/testing.ts';
import { TENANT_SETTING } from './client.ts';
import { createSeededStore, startEmulator } from './emulator/index.ts';
import { xero } from './index.ts';
import { FIXTURES, TEST_TOKEN, readFixture } from './test-support.ts';
import { signXeroPayload } from './webhooks.ts';

const seed = 7;
const scale = { contacts: 30, invoices: 24 };
// The same seed and scale the suite's emulator gets, so these ids exist there.
const store = createSeededStore({ seed, scale });
const org = [...store.orgs.values()][0]!;
// Includes an archived contact and a bill: byIds must find them too.
const contactIds = [...org.contacts.values()].filter((c, i) => i < 2 || c.ContactStatus === 'ARCHIVED').map((c) => c.ContactID);
const invoiceIds = [...org.invoices.values()]
  .filter((i, n) => n < 2 || i.Type === 'ACCPAY')
  .slice(0, 4)
  .map((i) => i.InvoiceID);

runConformanceSuite({
  connector: xero,
  startEmulator,
  token: TEST_TOKEN,
  settings: { [TENANT_SETTING]: org.tenantId, baseCurrency: org.baseCurrency },
  // The suite makes more calls a minute than Xero's 60 (it is not a real organisation's workload).
  emulatorOptions: { seed, scale, rateLimitPerSecond: 100 },
  knownIds: { Contact: contactIds, Invoice: invoiceIds },
  missingId: { Contact: '00000000-0000-4000-8000-000000000000', Invoice: '00000000-0000-4000-8000-000000000001' },
  fixtures: FIXTURES,
  groups: {
    webhooks: {
      secret: 'xero-conformance-webhook-key',
      delivery: { body: JSON.stringify(readFixture('webhook-events.json')) },
      sign: ({ body, secret }) => ({ 'x-xero-signature': signXeroPayload(body, secret) }),
    },
  },
});
