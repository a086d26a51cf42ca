// Shared by the WooCommerce tests: recorded fixtures (WooCommerce's real JSON shape), the keys the
// tests hand the emulator (never real keys), and the Basic credential the gateway would send.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntityModel, EntityType } from '../sdk/models.ts';
import { mapCustomer, mapOrder } from './mappers.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

type Mapper = (raw: unknown) => EntityModel;
const FIXTURE_FILES: Array<{ name: string; entity: EntityType; map: Mapper }> = [
  { name: 'customer.json', entity: 'Contact', map: (r) => mapCustomer(r) },
  { name: 'customer-never-modified.json', entity: 'Contact', map: (r) => mapCustomer(r) },
  { name: 'order-usd-partially-refunded.json', entity: 'Order', map: (r) => mapOrder(r) },
  { name: 'order-guest-jpy.json', entity: 'Order', map: (r) => mapOrder(r) },
  { name: 'order-kwd-refunded.json', entity: 'Order', map: (r) => mapOrder(r) },
];

export const FIXTURES = FIXTURE_FILES.map((f) => ({ ...f, raw: readFixture(f.name) }));

export const CONSUMER_KEY = 'ck_5f1b2c3d4e5f60718293a4b5c6d7e8f901234567';
export const CONSUMER_SECRET = 'cs_0a1b2c3d4e5f60718293a4b5c6d7e8f9abcdef01';
/** What the gateway's basic mode hands the connector as the access token. */
export const BASIC_TOKEN = Buffer.from(`${CONSUMER_KEY}:${CONSUMER_SECRET}`).toString('base64');
