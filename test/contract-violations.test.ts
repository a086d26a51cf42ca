// A connector that breaks the loader contract gets an error that says what was expected and what
// arrived, worded like DataLoader's misuse errors. The wording is public (it reaches the client's
// errors[].message), so it is pinned here.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COVERED_FIELDS, NEVER } from '../connectors/sdk/coverage.ts';
import { defineConnector } from '../connectors/sdk/define.ts';
import type { ContactModel } from '../connectors/sdk/models.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { defaultGatewayConfig } from '../src/config.ts';
import { encodeId } from '../src/ids.ts';
import { createGateway, type Gateway } from '../src/server.ts';
import { graphql } from './helpers.ts';

const contact = (id: string): ContactModel => ({
  entity: 'Contact',
  source: { provider: 'broken', remoteId: id, remoteUrl: null, remoteCreatedAt: null, remoteUpdatedAt: null, remoteDeleted: false },
  createdAt: null,
  updatedAt: null,
  firstName: null,
  lastName: null,
  name: `contact ${id}`,
  emails: [],
  phones: [],
  addresses: [],
  jobTitle: null,
  companyName: null,
  tags: [],
  customFields: {},
  raw: null,
});

/** Answers byIds with one slot too few, and list pages with more nodes than asked for. */
const broken = defineConnector({
  manifest: {
    id: 'broken',
    displayName: 'Broken',
    auth: { apiKey: { label: 'key' } },
    defaultBaseUrl: 'https://broken.invalid',
    maxBatchSize: { Contact: 100 },
    maxConcurrency: 1,
    maxPageSize: 100,
    entities: ['Contact'],
    rateLimits: { windows: [{ requests: 100, windowMs: 1000 }] },
    webhooks: { toleranceSeconds: null, signatureHeader: null, timestampHeader: null },
  },
  loaders: {
    Contact: {
      byIds: async (ids: readonly string[]) => ids.slice(1).map(contact),
      list: async ({ first }: { first: number }) => ({
        nodes: Array.from({ length: first + 2 }, (_, i) => contact(String(i))),
        endCursor: null,
        hasNextPage: false,
      }),
    },
  },
  coverage: { Contact: Object.fromEntries(Object.keys(COVERED_FIELDS.Contact).map((f) => [f, NEVER])) },
} as never);

let gateway: Gateway;
const apiKey = `sb_test_${randomUUID()}`;

beforeAll(async () => {
  const tenants = [
    {
      id: 't',
      apiKeys: [{ id: 'k', sha256: hashApiKey(apiKey) }],
      connections: [{ id: 'c-broken', provider: 'broken', credentials: { type: 'static' as const, token: 'x' }, settings: {} }],
    },
  ];
  gateway = await createGateway(defaultGatewayConfig(tenants, { mode: 'test' }), { connectors: new Map([['broken', broken]]) });
});
afterAll(() => gateway?.stop());

describe('connector contract violations', () => {
  it('byIds answering the wrong number of slots: "must return one slot per id, in order (got 4 for 5)"', async () => {
    const ids = ['a', 'b', 'c', 'd', 'e'].map((r) => encodeId('Contact', 'c-broken', r));
    const res = await graphql<{ nodes: unknown[] }>(gateway.url, apiKey, 'query($ids: [ID!]!) { nodes(ids: $ids) { id } }', { ids });
    expect(res.errors?.[0]?.message).toBe('broken (connection c-broken): Broken connector: Contact.byIds must return one slot per id, in order (got 4 for 5)');
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
  });

  it('list answering more nodes than `first`: "must return at most `first` nodes (got 5 for first: 3)"', async () => {
    const res = await graphql<{ contacts: unknown }>(gateway.url, apiKey, '{ contacts(first: 3) { nodes { id } } }');
    expect(res.errors?.[0]?.message).toBe(
      'broken (connection c-broken): Broken connector: Contact.list must return at most `first` nodes (got 5 for first: 3)',
    );
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_BAD_RESPONSE');
  });
});
