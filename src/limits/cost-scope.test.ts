// The cost model counts only the connections a query can reach (a root list's provider or
// connection filter, a record's id, what hangs off such records), prices a per-contact page read
// for one contact alone (HubSpot: links, records, their links) and a router's Person references.
import { parse } from 'graphql';
import { describe, expect, it } from 'vitest';
import { hubspot } from '../../connectors/hubspot/index.ts';
import { stripe } from '../../connectors/stripe/index.ts';
import type { Connector } from '../../connectors/sdk/types.ts';
import { encodeId } from '../ids.ts';
import { estimateUpstreamCalls } from './cost.ts';

const limits = { maxPageSize: 100, defaultPageSize: 20 };
const CONNECTIONS: Record<string, Connector> = { 'acme-hubspot': hubspot, 'acme-stripe': stripe };
const both: Connector[] = [hubspot, stripe];
const estimate = (query: string, variables: Record<string, unknown> = {}, connectors = both) =>
  estimateUpstreamCalls(parse(query), null, variables, connectors, limits, (id) => CONNECTIONS[id]).calls;

describe('cost model scope', () => {
  it('a root list filtered by provider or connection counts only that connection, with what hangs off its records', () => {
    const list = (filter: string) => `{ invoices(first: 10${filter}) { nodes { number contact { name } } } }`;
    // HubSpot: a search page with its links (2) and the contacts' batch read (1); Stripe embeds them (1).
    expect(estimate(list(', filter: { provider: "hubspot" }'))).toBe(3);
    expect(estimate(list(', filter: { connectionId: "acme-stripe" }'))).toBe(1);
    expect(estimate(list(''))).toBe(4);
    // A connection the tenant does not have is read nowhere.
    expect(estimate(list(', filter: { connectionId: "globex-hubspot" }'))).toBe(0);
  });

  it('a record read by id counts its own connection (the id names it); an id that names none costs nothing', () => {
    const contact = encodeId('Contact', 'acme-hubspot', '7');
    const query = 'query ($id: ID!) { contact(id: $id) { name invoices(first: 10) { nodes { number } } } }';
    // One contact batch read, then its invoices: the links and the records with their own links.
    expect(estimate(query, { id: contact })).toBe(1 + 1 + 2);
    expect(estimate(query, { id: encodeId('Contact', 'globex-hubspot', '7') })).toBe(0);
    expect(estimate(query, { id: encodeId('Invoice', 'acme-hubspot', '7') })).toBe(0);
    // Not known before execution (no variable): every connection.
    expect(estimate(query)).toBeGreaterThan(estimate(query, { id: contact }));
    expect(estimate(`{ node(id: "${encodeId('Invoice', 'acme-stripe', 'in_1')}") { ... on Invoice { contact { name } } } }`)).toBe(1);
  });

  it('HubSpot: a per-contact page read alone (after a cursor) costs the links read, the records and their links', () => {
    const person = (after: string) => `{ person(email: "ada@example.com") { invoices(first: 10${after}) { nodes { number } } } }`;
    // One search with IN, then the contact's first page batched with the others of the tick.
    expect(estimate(person(''), {}, [hubspot])).toBe(1 + 1 + 2);
    // Resumed: the page is read for that contact alone, the same 3 calls (a list page's 2 was an underestimate).
    expect(estimate(person(', after: "c"'), {}, [hubspot])).toBe(1 + 3);
  });

  it("a router's Person references cost e-mail lookups like people(filter: { emails })", () => {
    const refs = Array.from({ length: 3 }, (_, i) => ({ __typename: 'Person', primaryEmail: `p${i}@example.com` }));
    const entities = 'query ($r: [_Any!]!) { _entities(representations: $r) { ... on Person { contacts { name } invoices(first: 5) { nodes { number } } } } }';
    const people = 'query ($e: [EmailAddress!]!) { people(filter: { emails: $e }) { contacts { name } invoices(first: 5) { nodes { number } } } }';
    const emails = refs.map((r) => r.primaryEmail);
    expect(estimate(entities, { r: refs })).toBeGreaterThan(0);
    expect(estimate(entities, { r: refs })).toBe(estimate(people, { e: emails }));
  });
});
