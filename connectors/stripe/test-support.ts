// Shared by the Stripe tests: recorded fixtures (Stripe's real JSON shape) and how each maps.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntityModel, EntityType } from '../sdk/models.ts';
import { eventMapOptions, expectEvent, mapCheckoutSession, mapCustomer, mapInvoice } from './mappers.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

const fromEvent = (raw: unknown): EntityModel => {
  const event = expectEvent(raw);
  return mapCustomer(event.data.object, eventMapOptions(event));
};

type Mapper = (raw: unknown) => EntityModel;
const FIXTURE_FILES: Array<{ name: string; entity: EntityType; map: Mapper }> = [
  { name: 'customer.json', entity: 'Contact', map: (r) => mapCustomer(r) },
  { name: 'customer-deleted.json', entity: 'Contact', map: (r) => mapCustomer(r) },
  { name: 'event-customer-updated.json', entity: 'Contact', map: fromEvent },
  { name: 'invoice-usd-paid.json', entity: 'Invoice', map: (r) => mapInvoice(r) },
  { name: 'invoice-jpy-open-expanded-customer.json', entity: 'Invoice', map: (r) => mapInvoice(r) },
  { name: 'invoice-kwd-draft.json', entity: 'Invoice', map: (r) => mapInvoice(r) },
  { name: 'invoice-legacy-2022.json', entity: 'Invoice', map: (r) => mapInvoice(r) },
  { name: 'checkout-session-complete.json', entity: 'Order', map: (r) => mapCheckoutSession(r) },
  { name: 'checkout-session-expired-legacy.json', entity: 'Order', map: (r) => mapCheckoutSession(r) },
];

export const FIXTURES: Array<{ name: string; entity: EntityType; raw: unknown; map: Mapper }> = FIXTURE_FILES.map((f) => ({ ...f, raw: readFixture(f.name) }));

/** Keys the tests hand the emulator (never real keys). */
export const TEST_KEY = 'sk_test_51SwitchboardEmulatorKey000000000000000000000000';
export const LIVE_KEY = 'sk_live_51SwitchboardEmulatorKey000000000000000000000000';
