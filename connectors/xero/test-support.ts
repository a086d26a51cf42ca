// Shared by the Xero tests: recorded fixtures (Xero's real JSON shape), the token the tests hand the
// emulator (never a real one), and the seeded organisations' ids.
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
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

// ─── Xero's official OpenAPI specs (our extracts, see specs/sources.json) ─────────────────────

export const SPEC_FILES = { accounting: 'xero_accounting.json', identity: 'xero-identity.json', webhooks: 'xero-webhooks.json' } as const;

export function readSpec(kind: keyof typeof SPEC_FILES): Record<string, unknown> {
  return JSON.parse(readFileSync(join(here, 'specs', SPEC_FILES[kind]), 'utf8')) as Record<string, unknown>;
}

type AddFormats = (ajv: Ajv) => Ajv;
// ajv-formats is CommonJS: depending on the loader the default import is the plugin or its module.
const addFormats = ((addFormatsImport as unknown as { default?: AddFormats }).default ?? addFormatsImport) as unknown as AddFormats;

/**
 * Fields Xero sends that its spec's schemas do not declare, each seen in the spec's own response
 * examples: the envelope of every Accounting answer, and the …String twins of invoice dates.
 */
export const UNDECLARED_BUT_SENT: Readonly<Record<string, readonly string[]>> = {
  Contacts: ['Id', 'Status', 'ProviderName', 'DateTimeUTC'],
  Invoices: ['Id', 'Status', 'ProviderName', 'DateTimeUTC'],
  Organisations: ['Id', 'Status', 'ProviderName', 'DateTimeUTC'],
  Invoice: ['DateString', 'DueDateString'],
};

/**
 * Validates against the spec's component schemas, strictly: every object schema with declared
 * properties refuses any other property (but those listed in UNDECLARED_BUT_SENT), so an emulator
 * field Xero does not have fails the test instead of passing silently.
 */
export function specValidator(kind: keyof typeof SPEC_FILES) {
  const spec = readSpec(kind) as { components: { schemas: Record<string, Record<string, unknown>> } };
  const schemas = structuredClone(spec.components.schemas);
  for (const [name, schema] of Object.entries(schemas)) {
    if (!schema.properties) continue;
    const extra = UNDECLARED_BUT_SENT[name] ?? [];
    schema.properties = { ...(schema.properties as object), ...Object.fromEntries(extra.map((k) => [k, {}])) };
    schema.additionalProperties = false;
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('double', { type: 'number', validate: (n: number) => Number.isFinite(n) });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addSchema({ $id: `xero-${kind}`, components: { schemas } });
  return {
    problems(schema: string, data: unknown): string[] {
      const validate = ajv.getSchema(`xero-${kind}#/components/schemas/${schema}`);
      if (!validate) throw new Error(`schema ${schema} not in the ${kind} spec`);
      if (validate(data)) return [];
      return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    },
  };
}
