// Shared by the Xero tests: recorded fixtures (Xero's real JSON shape), the token the tests hand the
// emulator (never a real one), and the seeded organisations' ids.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntityModel, EntityType } from '../sdk/models.ts';
import { mapContact, mapInvoice } from './mappers.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

type Mapper = (raw: unknown) => EntityModel;
const FIXTURE_FILES: Array<{ name: string; entity: EntityType; map: Mapper }> = [
  { name: 'contact.json', entity: 'Contact', map: (r) => mapContact(r, { shortCode: '!sWb01' }) },
  { name: 'contact-archived-person.json', entity: 'Contact', map: (r) => mapContact(r) },
  { name: 'invoice-accrec-partially-paid.json', entity: 'Invoice', map: (r) => mapInvoice(r, { baseCurrency: 'USD' }) },
  { name: 'invoice-accpay-eur-paid.json', entity: 'Invoice', map: (r) => mapInvoice(r, { baseCurrency: 'GBP', shortCode: '!sWb02' }) },
  { name: 'invoice-voided-summary.json', entity: 'Invoice', map: (r) => mapInvoice(r) },
];

export const FIXTURES = FIXTURE_FILES.map((f) => ({ ...f, raw: readFixture(f.name) }));

/** A bearer token the emulator accepts for every organisation (as a Custom Connection's would). */
export const TEST_TOKEN = 'xero-test-token-0000000000000000';
