// selectedLinks reads the linked-record fields a list query selects on its nodes, as graphql-js
// would collect them (fragments, aliases, @skip/@include with variables); LINKED_RECORDS lists
// every such field of the schema.
import { GraphQLObjectType, execute, getNamedType, isListType, isNonNullType, parse, type GraphQLResolveInfo } from 'graphql';
import { describe, expect, it } from 'vitest';
import { buildSchema } from '../gateway/apollo.ts';
import { LINKED_RECORDS, selectedLinks } from './lookahead.ts';

const schema = buildSchema();
let seen: string[] | null = null;
// The gateway's schema, its `invoices` resolver replaced by one that only records what it sees.
schema.getQueryType()!.getFields()['invoices']!.resolve = (_source, _args, _ctx, info: GraphQLResolveInfo) => {
  seen = selectedLinks(info, 'Invoice').map((l) => l.field);
  throw new Error('seen');
};

/** The links selectedLinks reports for the `invoices` field of `query`, seen from its resolver. */
async function linksOf(query: string, variableValues: Record<string, unknown> = {}): Promise<string[]> {
  seen = null;
  const result = await execute({ schema, document: parse(query), variableValues });
  expect(result.errors?.map((e) => e.message)).toEqual(['seen']);
  return (seen ?? []).sort();
}

describe('selectedLinks', () => {
  it('finds linked fields under edges.node and nodes, aliased or not', async () => {
    expect(await linksOf('{ invoices { edges { node { number contact { name } } } } }')).toEqual(['contact']);
    expect(await linksOf('{ invoices { nodes { o: order { id } } } }')).toEqual(['order']);
    expect(await linksOf('{ invoices { nodes { number } edges { cursor } totalCount } }')).toEqual([]);
  });

  it('follows named and inline fragments', async () => {
    const query = `
      query { invoices { ...page } }
      fragment page on InvoiceConnection { edges { node { ... on Invoice { ...who } } } }
      fragment who on Invoice { contact { name } order { id } }`;
    expect(await linksOf(query)).toEqual(['contact', 'order']);
  });

  it('leaves out what @skip and @include leave out, with variables', async () => {
    const query = `query ($c: Boolean!, $o: Boolean!) { invoices { nodes { contact @include(if: $c) { name } order @skip(if: $o) { id } } } }`;
    expect(await linksOf(query, { c: false, o: true })).toEqual([]);
    expect(await linksOf(query, { c: true, o: false })).toEqual(['contact', 'order']);
    expect(await linksOf('query ($e: Boolean!) { invoices { edges @include(if: $e) { node { contact { name } } } } }', { e: false })).toEqual([]);
  });

  it('does not report a linked field selected only on a nested record', async () => {
    expect(await linksOf('{ invoices { nodes { order { customer { name } } } } }')).toEqual(['order']);
  });
});

describe('LINKED_RECORDS', () => {
  it('lists every field of Contact, Invoice and Order that resolves to one record of those types', () => {
    const entities = Object.keys(LINKED_RECORDS);
    for (const entity of entities) {
      const type = schema.getType(entity) as GraphQLObjectType;
      const single = Object.values(type.getFields())
        .filter((f) => {
          const t = isNonNullType(f.type) ? f.type.ofType : f.type;
          return !isListType(t) && entities.includes(getNamedType(t).name);
        })
        .map((f) => `${f.name}:${getNamedType(f.type).name}`);
      const listed = LINKED_RECORDS[entity as keyof typeof LINKED_RECORDS].map((l) => `${l.field}:${l.entity}`);
      expect(listed.sort(), entity).toEqual(single.sort());
    }
  });
});
