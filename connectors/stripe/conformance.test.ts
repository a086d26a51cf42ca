// The shared connector conformance suite, run against the Stripe emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { createSeededStore, startEmulator } from './emulator/index.ts';
import { stripe } from './index.ts';
import { FIXTURES, readFixture, TEST_KEY } from './test-support.ts';
import { STRIPE_SIGNATURE_HEADER, stripeSignatureHeader } from './webhooks.ts';

const seed = 7;
const scale = { contacts: 24, invoices: 40, orders: 20 };
// The same seed and scale the suite's emulator gets, so these ids exist there.
const store = createSeededStore({ seed, scale });

runConformanceSuite({
  connector: stripe,
  startEmulator,
  token: TEST_KEY,
  // A test key's real limit (25 req/s) is below the manifest's live limit the gateway budgets for.
  emulatorOptions: { seed, scale, rateLimitPerSecond: 1000 },
  knownIds: {
    Contact: [...store.customers.keys()].slice(0, 3),
    Invoice: [...store.invoices.keys()].slice(0, 3),
    Order: [...store.sessions.keys()].slice(0, 3),
  },
  missingId: { Contact: 'cus_DoesNotExist00', Invoice: 'in_1DoesNotExist000000000000', Order: 'cs_test_a1DoesNotExist' },
  fixtures: FIXTURES,
  groups: {
    webhooks: {
      secret: 'whsec_conformance_secret',
      // A recorded customer.updated event: the payload carries the whole customer.
      delivery: { body: JSON.stringify(readFixture('event-customer-updated.json')) },
      // Stripe-Signature: t=<seconds>,v1=<HMAC of "t.body">.
      sign: ({ body, secret, now }) => ({ [STRIPE_SIGNATURE_HEADER]: stripeSignatureHeader(Math.floor(now / 1000), body, secret) }),
    },
  },
});
