// Shared by the HubSpot tests: recorded fixtures, validators built from our schema extracts of
// HubSpot's official OpenAPI specs (specs/), and the fixture → model mapping the conformance suite runs.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject } from 'ajv';
import addFormatsImport from 'ajv-formats';
import type { EntityModel } from '../sdk/models.ts';
import { associatedIds, mapContact, mapInvoice, mapLineItems, mapOrder, type HubSpotObject, type MapOptions } from './mappers.ts';

const here = dirname(fileURLToPath(import.meta.url));
/**
 * Schema extracts of HubSpot's official OpenAPI specs (specs/README.md): every schema, path and
 * parameter of the official files, without their prose, so validating against them is exactly as
 * strict. HUBSPOT_SPEC_DIR may point at a folder of the official files instead (same names).
 */
export const SPEC_DIR = process.env.HUBSPOT_SPEC_DIR ?? join(here, 'specs');
export const SPEC_FILES = {
  contacts: 'CRM_Contacts_v3_contacts.json',
  invoices: 'CRM_Invoices_v3_invoices.json',
  orders: 'CRM_Orders_v3_orders.json',
} as const;

export function readFixture<T = unknown>(name: string): T {
  return JSON.parse(readFileSync(join(here, 'fixtures', name), 'utf8')) as T;
}

export function readSpec(kind: keyof typeof SPEC_FILES): Record<string, unknown> {
  return JSON.parse(readFileSync(join(SPEC_DIR, SPEC_FILES[kind]), 'utf8')) as Record<string, unknown>;
}

type AddFormats = (ajv: Ajv) => Ajv;
// ajv-formats is CommonJS: depending on the loader the default import is the plugin or its module.
const addFormats = ((addFormatsImport as unknown as { default?: AddFormats }).default ?? addFormatsImport) as unknown as AddFormats;

export interface SpecValidator {
  /** Problems of `data` against `#/components/schemas/<schema>`; empty when valid. */
  problems(schema: string, data: unknown): string[];
}

/**
 * Validates against the spec's component schemas. One documented deviation: property values may
 * be null. HubSpot answers `null` for a requested property that has no value (the official SDK
 * types them `string | null`), while the generated spec says `string` only.
 */
export function specValidator(kind: keyof typeof SPEC_FILES): SpecValidator {
  const spec = readSpec(kind) as { components: { schemas: Record<string, Record<string, unknown>> } };
  const schemas = structuredClone(spec.components.schemas);
  for (const name of ['SimplePublicObject', 'SimplePublicObjectWithAssociations']) {
    const props = (schemas[name]?.properties as Record<string, { additionalProperties?: unknown }> | undefined)?.properties;
    if (props) props.additionalProperties = { type: 'string', nullable: true };
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  ajv.addSchema({ $id: `hubspot-${kind}`, components: { schemas } });
  return {
    problems(schema, data) {
      const validate = ajv.getSchema(`hubspot-${kind}#/components/schemas/${schema}`);
      if (!validate) throw new Error(`schema ${schema} not in the ${kind} spec`);
      if (validate(data)) return [];
      return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
    },
  };
}

/**
 * A list page (with inline associations) + the line items batch read → one fixture per record,
 * mapped with its line items filled in as the connector's lineItems loader would, so the suite
 * checks those too.
 */
function commerceFixtures(listFile: string, entity: 'Invoice' | 'Order') {
  const page = readFixture<{ results: HubSpotObject[] }>(listFile);
  const lineItems = readFixture<{ results: HubSpotObject[] }>('line-items-batch-read.json').results;
  return page.results.map((record) => ({
    name: `${listFile}#${record.id}`,
    entity,
    raw: { record, lineItems } as unknown,
    map: (raw: unknown): EntityModel => {
      const r = raw as { record: HubSpotObject; lineItems: HubSpotObject[] };
      const related = { contactRemoteId: associatedIds(r.record, 'contacts')?.[0] ?? null };
      const options: MapOptions = { portalId: '62515' };
      const model = entity === 'Invoice' ? mapInvoice(r.record, related, options) : mapOrder(r.record, related, options);
      const records = new Map(r.lineItems.map((li) => [li.id, li]));
      return { ...model, lineItems: mapLineItems(associatedIds(r.record, 'line_items') ?? [], records, model.currency) };
    },
  }));
}

/** Every recorded payload with the mapper that turns it into a model (for the conformance suite). */
export function recordedFixtures(): Array<{ name: string; entity: 'Contact' | 'Invoice' | 'Order'; raw: unknown; map: (raw: unknown) => EntityModel }> {
  const contacts = readFixture<{ results: HubSpotObject[] }>('contacts-batch-read-207.json').results.map((raw) => ({
    name: `contacts-batch-read-207.json#${raw.id}`,
    entity: 'Contact' as const,
    raw: raw as unknown,
    map: (r: unknown): EntityModel => mapContact(r as HubSpotObject, { portalId: '62515' }),
  }));
  const archived = {
    name: 'contact-archived.json',
    entity: 'Contact' as const,
    raw: readFixture('contact-archived.json'),
    map: (r: unknown): EntityModel => mapContact(r as HubSpotObject),
  };
  return [
    ...contacts,
    archived,
    ...commerceFixtures('invoices-list-with-associations.json', 'Invoice'),
    ...commerceFixtures('orders-list-with-associations.json', 'Order'),
  ];
}
