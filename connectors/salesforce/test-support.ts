// Shared by the Salesforce tests: recorded fixtures (Salesforce's REST JSON shape) and the session
// token the tests hand the emulator (not a real session id).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EntityModel, EntityType } from '../sdk/models.ts';
import { mapContact, mapOrder } from './mappers.ts';

const here = dirname(fileURLToPath(import.meta.url));

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

type Mapper = (raw: unknown) => EntityModel;
const FIXTURE_FILES: Array<{ name: string; entity: EntityType; map: Mapper }> = [
  { name: 'contact.json', entity: 'Contact', map: (r) => mapContact(r) },
  { name: 'contact-minimal.json', entity: 'Contact', map: (r) => mapContact(r) },
  { name: 'order-activated.json', entity: 'Order', map: (r) => mapOrder(r, { currency: 'USD' }) },
  { name: 'order-draft-multicurrency.json', entity: 'Order', map: (r) => mapOrder(r, { currency: 'USD' }) },
];

export const FIXTURES = FIXTURE_FILES.map((f) => ({ ...f, raw: readFixture(f.name) }));

export const SESSION_TOKEN = '00D5g000004ORGX!AQ.test.session.token.for.the.emulator';
