// The shared connector conformance suite, run against the WooCommerce emulator.
import { runConformanceSuite } from '../sdk/testing.ts';
import { createSeededStore, startEmulator } from './emulator/index.ts';
import { woocommerce } from './index.ts';
import { BASIC_TOKEN, FIXTURES } from './test-support.ts';

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
});
