// docs/coverage.md is generated from the connectors' coverage declarations (npm run coverage:docs),
// like src/generated from schema/ (codegen.test.ts): a stale table fails here. The same
// declarations are served by `connectors { coverage }` and in the SDL descriptions.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONNECTORS } from '../connectors/registry.ts';
import { COVERED_FIELDS } from '../connectors/sdk/coverage.ts';
import { startStack, type Stack } from './helpers.ts';
import { coverageMarkdown, coverageSentence } from '../src/gateway/coverage-sdl.ts';
import { buildSchema } from '../src/server.ts';
import { isObjectType } from 'graphql';

const connectors = CONNECTORS.map((r) => r.connector);

describe('field coverage', () => {
  it('docs/coverage.md is what `npm run coverage:docs` generates', () => {
    const committed = readFileSync(new URL('../docs/coverage.md', import.meta.url), 'utf8');
    expect(committed, 'docs/coverage.md is stale: run `npm run coverage:docs`').toBe(coverageMarkdown(connectors));
  });

  it('the schema describes each covered field with the connectors that fill it', () => {
    const contact = buildSchema(connectors).getType('Contact');
    if (!isObjectType(contact)) throw new Error('Contact is not an object type');
    const jobTitle = contact.getFields()['jobTitle']?.description ?? '';
    expect(jobTitle).toContain(coverageSentence(connectors, 'Contact', 'jobTitle'));
    expect(jobTitle).toMatch(
      /Filled by HubSpot \(`jobtitle`, when present\), Salesforce \(`Title`, when present\); not by Stripe, Shopify, WooCommerce, Xero, QuickBooks Online\./,
    );
    // An existing description is kept in front of the coverage sentence.
    expect(contact.getFields()['name']?.description).toMatch(/^Full display name\.\n\nFilled by /);
  });
});

describe('connectors { coverage } over GraphQL', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({ scale: { contacts: 1, invoices: 1, orders: 1 } });
  }, 60_000);
  afterAll(() => stack?.stop());

  it('lists every normalized field of each type a connector serves, with its fill and provider field', async () => {
    type Row = { type: string; field: string; fill: string; providerField: string | null };
    const res = await stack.query<{ connectors: Array<{ id: string; coverage: Row[] }> }>('{ connectors { id coverage { type field fill providerField } } }');
    expect(res.errors).toBeUndefined();
    const served = new Map(res.data!.connectors.map((c) => [c.id, c.coverage]));
    for (const connector of connectors) {
      const rows = served.get(connector.manifest.id);
      expect(rows, connector.manifest.id).toBeDefined();
      for (const type of ['Contact', 'Invoice', 'Order'] as const) {
        const fields = rows!.filter((r) => r.type === type).map((r) => r.field);
        expect(fields.sort(), `${connector.manifest.id} ${type}`).toEqual(
          connector.manifest.entities.includes(type) ? Object.keys(COVERED_FIELDS[type]).sort() : [],
        );
      }
      for (const r of rows!) expect(r.providerField === null, `${connector.manifest.id} ${r.type}.${r.field}`).toBe(r.fill === 'NEVER');
    }
    const row = (id: string, type: string, field: string) => served.get(id)!.find((r) => r.type === type && r.field === field);
    expect(row('hubspot', 'Contact', 'emails')).toEqual({
      type: 'Contact',
      field: 'emails',
      fill: 'WHEN_PRESENT',
      providerField: 'email, hs_additional_emails',
    });
    expect(row('xero', 'Contact', 'createdAt')).toEqual({ type: 'Contact', field: 'createdAt', fill: 'NEVER', providerField: null });
  });
});
