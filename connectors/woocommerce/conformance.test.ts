// The shared connector conformance suite, run against the WooCommerce emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { createSeededStore, startEmulator } from './emulator/index.ts';
import { woocommerce } from './index.ts';
import { BASIC_TOKEN, FIXTURES, readFixture } from './test-support.ts';
import { signWooPayload, WOO_HEADERS } from './webhooks.ts';

const seed = 7;
const scale = { contacts: 30, orders: 40 };
// The same seed and scale the suite's emulator gets, so these ids exist there.
const store = createSeededStore({ seed, scale });
// Includes a shop manager: byIds must find buyers whatever their role.
const customerIds = [...store.customers.values()].filter((c, i) => i < 2 || c.role !== 'customer').map((c) => String(c.id));

runConformanceSuite({
  connector: woocommerce,
  startEmulator,
  token: BASIC_TOKEN,
  emulatorOptions: { seed, scale },
  knownIds: { Contact: customerIds, Order: [...store.orders.keys()].slice(0, 3).map(String) },
  missingId: { Contact: '999999', Order: '999999' },
  fixtures: FIXTURES,
  groups: {
    webhooks: {
      // WooCommerce signs with the webhook's own secret, not the REST consumer secret.
      secret: 'wc-conformance-secret',
      // Topic, resource and ids travel in X-WC-Webhook-* headers, the order in the body.
      delivery: {
        body: JSON.stringify(readFixture('order-usd-partially-refunded.json')),
        headers: {
          [WOO_HEADERS.source]: 'https://shop.example/',
          [WOO_HEADERS.topic]: 'order.updated',
          [WOO_HEADERS.resource]: 'order',
          [WOO_HEADERS.event]: 'updated',
          [WOO_HEADERS.webhookId]: '5',
          [WOO_HEADERS.deliveryId]: 'd41d8cd98f00b204e9800998ecf8427e',
        },
      },
      sign: ({ body, secret }) => ({ [WOO_HEADERS.signature]: signWooPayload(body, secret) }),
    },
  },
});
