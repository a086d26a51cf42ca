// The shared connector conformance suite, run against the Shopify emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { ShopStore, startEmulator } from './emulator/index.ts';
import { shopify } from './index.ts';
import { mapCustomer, mapOrder } from './mappers.ts';
import { FIXTURES } from './fixtures/fixtures.ts';
import { TEST_TOKEN } from './test-support.ts';

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
});
