// docs/coverage.md is generated from the connectors' coverage declarations (npm run coverage:docs),
// like src/generated from schema/ (codegen.test.ts): a stale table fails here.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONNECTORS } from '../connectors/registry.ts';
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
