// The shared connector conformance suite, run against the Shopify emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { ShopStore, startEmulator } from './emulator/index.ts';
import { shopify } from './index.ts';
import { mapCustomer, mapOrder } from './mappers.ts';
import { FIXTURES } from './fixtures/fixtures.ts';
import { APP_SECRET, TEST_TOKEN } from './test-support.ts';
import { H, shopifyWebhookHmac } from './webhooks.ts';

const seed = 7;
const scale = { contacts: 24, orders: 40 };
// The same seed and scale the suite's emulator gets, so these ids exist there.
const store = new ShopStore(seed, scale);

runConformanceSuite({
  connector: shopify,
  startEmulator,
  token: TEST_TOKEN,
  // A Plus plan's restore rate (1000 points/s): the suite walks every page back to back.
  emulatorOptions: { seed, scale, rateLimitPerSecond: 1000 },
  knownIds: {
    Contact: [...store.customers.keys()].slice(0, 3).map(String),
    Order: [...store.orders.keys()].slice(0, 3).map(String),
  },
  missingId: { Contact: '999999999', Order: '999999998' },
  fixtures: [
    ...FIXTURES.customers.map((raw, i) => ({ name: `customer-${i}`, entity: 'Contact' as const, raw, map: (r: unknown) => mapCustomer(r) })),
    ...FIXTURES.orders.map((raw, i) => ({ name: `order-${i}`, entity: 'Order' as const, raw, map: (r: unknown) => mapOrder(r) })),
  ],
  groups: {
    webhooks: {
      // Shopify signs with the app's client secret.
      secret: APP_SECRET,
      // Topic, shop and ids travel in headers; the body is the REST-shaped record (numeric id), not the GraphQL one.
      delivery: {
        body: JSON.stringify({
          id: 207119551,
          email: 'bob.norman@mail.example.com',
          first_name: 'Bob',
          last_name: 'Norman',
          updated_at: '2026-01-15T05:00:00-05:00',
        }),
        headers: {
          [H.topic]: 'customers/update',
          [H.shop]: 'conformance.myshopify.com',
          [H.apiVersion]: '2026-07',
          [H.webhookId]: 'b54557e4-bdd9-4b37-8a5f-bf7d70bcd043',
          [H.eventId]: '98880550-7158-44d4-b7cd-2c97c8a091b5',
          [H.triggeredAt]: '2026-01-15T10:00:00.000Z',
        },
      },
      sign: ({ body, secret }) => ({ [H.hmac]: shopifyWebhookHmac(body, secret) }),
    },
  },
});
