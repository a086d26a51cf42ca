// The cost model prices a router's `_entities` references like `nodes(ids:)`: grouped by
// connection and type into batch reads, plus what the selection costs per record.
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { hubspot } from '../../connectors/hubspot/index.ts';
import { encodeId } from '../ids.ts';
import { batchReadCost, estimateUpstreamCalls } from './cost.ts';

const limits = { maxPageSize: 100, defaultPageSize: 20 };
const connectorOf = (id: string) => (id === 'acme-hubspot' ? hubspot : undefined);
const estimate = (query: string, variables: Record<string, unknown>) =>
  estimateUpstreamCalls(parse(query), null, variables, [hubspot], limits, connectorOf).calls;

const ids = Array.from({ length: 100 }, (_, i) => encodeId('Contact', 'acme-hubspot', String(1000 + i)));
const ENTITIES = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Contact { name } } }';
const NODES = 'query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Contact { name } } }';

describe('cost of _entities', () => {
  const batchRead = batchReadCost(hubspot, 'Contact');

  it('100 Contact references cost what nodes(ids:) with the same ids costs (HubSpot: one batch read)', () => {
    const references = ids.map((id) => ({ __typename: 'Contact', id }));
    expect(estimate(ENTITIES, { r: references })).toBe(estimate(NODES, { ids }));
    expect(estimate(ENTITIES, { r: references })).toBe(Math.ceil(100 / (hubspot.manifest.maxBatchSize.Contact ?? 1)) * batchRead);
  });

  it("counts linked records under a type condition, and references of another tenant's connection as nothing", () => {
    const invoices = Array.from({ length: 10 }, (_, i) => ({ __typename: 'Invoice', id: encodeId('Invoice', 'acme-hubspot', String(i)) }));
    const withContact = estimate('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { number contact { name } } } }', { r: invoices });
    const plain = estimate('query ($r: [_Any!]!) { _entities(representations: $r) { ... on Invoice { number } } }', { r: invoices });
    expect(withContact).toBeGreaterThan(plain);
    const foreign = [{ __typename: 'Contact', id: encodeId('Contact', 'globex-hubspot', '1') }];
    expect(estimate(ENTITIES, { r: foreign })).toBe(0);
  });

  it('inline representations (no variables) are counted too', () => {
    expect(estimate(`{ _entities(representations: [{ __typename: "Contact", id: "${ids[0]}" }]) { ... on Contact { name } } }`, {})).toBe(batchRead);
  });
});
