// Switchboard as an Apollo Federation 2 subgraph. The SDL in schema/ stays plain GraphQL (codegen
// reads it as is); at build time the entity types listed in FEDERATED_ENTITIES get their `@key`
// and the schema `@link`s the federation spec, and @apollo/subgraph's buildSubgraphSchema adds
// `_service { sdl }` and `_entities(representations:)`. A router's `_entities` call resolves each
// reference through the same per-request DataLoaders, record cache and tenant check as
// `nodes(ids:)`: references of one type and connection load in one batch read.
import { buildSubgraphSchema } from '@apollo/subgraph';
import { Kind, parse, type ConstDirectiveNode, type DocumentNode, type GraphQLSchema } from 'graphql';
import type { EntityType } from '../../connectors/sdk/models.ts';
import type { RequestContext } from '../context.ts';
import { isKnown, resolvePerson } from '../identity/resolve.ts';
import { loadByGlobalId } from '../resolvers/common.ts';

/** The federation spec version the subgraph links (supported by Apollo Router, Hive Gateway and Cosmo). */
export const FEDERATION_SPEC_URL = 'https://specs.apollo.dev/federation/v2.3';

/** How a router names one entity, and how this subgraph loads it (batched through the request's loaders). */
export interface FederatedEntity {
  /** The `@key(fields:)` selection. */
  key: string;
  resolveReference: (reference: Record<string, unknown>, rc: RequestContext) => Promise<unknown>;
}

/** A record type keyed by its global id (the id encodes type, connection and remote id). */
const byGlobalId = (entity: EntityType): FederatedEntity => ({
  key: 'id',
  resolveReference: (reference, rc) => {
    const id = reference['id'];
    if (typeof id !== 'string') throw new TypeError(`a ${entity} reference needs its "id" (got ${JSON.stringify(id)?.slice(0, 80)})`);
    return loadByGlobalId(rc, id, entity);
  },
});

/** The entity types other subgraphs can reference. A new one is one line here (its type must be in schema/). */
export const FEDERATED_ENTITIES: Record<string, FederatedEntity> = {
  Contact: byGlobalId('Contact'),
  Invoice: byGlobalId('Invoice'),
  Order: byGlobalId('Order'),
  // A person is keyed by the normalized e-mail address: another subgraph's `User { email }` can
  // reference `Person { primaryEmail }` without knowing any provider id. Resolved like
  // `person(email:)` (one batched e-mail lookup per connection); null when no contact matches.
  Person: {
    key: 'primaryEmail',
    resolveReference: async (reference, rc) => {
      const email = reference['primaryEmail'];
      if (typeof email !== 'string' || !email.includes('@')) return null;
      const person = await resolvePerson(rc, email);
      return isKnown(person) ? person : null;
    },
  },
};

/** The SDL with the federation `@link` and a `@key` on every federated entity type. */
export function federatedTypeDefs(typeDefs: DocumentNode, entities: Record<string, FederatedEntity> = FEDERATED_ENTITIES): DocumentNode {
  const pending = new Set(Object.keys(entities));
  const definitions = typeDefs.definitions.map((d) => {
    if (d.kind !== Kind.OBJECT_TYPE_DEFINITION || !entities[d.name.value]) return d;
    pending.delete(d.name.value);
    return { ...d, directives: [...(d.directives ?? []), keyDirective((entities[d.name.value] as FederatedEntity).key)] };
  });
  if (pending.size > 0) throw new Error(`FEDERATED_ENTITIES names types the schema does not define: ${[...pending].join(', ')}`);
  const link = parse(`extend schema @link(url: "${FEDERATION_SPEC_URL}", import: ["@key"])`).definitions;
  return { ...typeDefs, definitions: [...link, ...definitions] };
}

function keyDirective(fields: string): ConstDirectiveNode {
  return {
    kind: Kind.DIRECTIVE,
    name: { kind: Kind.NAME, value: 'key' },
    arguments: [{ kind: Kind.ARGUMENT, name: { kind: Kind.NAME, value: 'fields' }, value: { kind: Kind.STRING, value: fields } }],
  };
}

/**
 * The subgraph schema without our field resolvers (apollo.ts adds those with graphql-tools, as
 * before): federation's types and root fields, and each entity's reference resolver.
 */
export function buildFederatedSchema(typeDefs: DocumentNode, entities: Record<string, FederatedEntity> = FEDERATED_ENTITIES): GraphQLSchema {
  const resolvers = Object.fromEntries(
    Object.entries(entities).map(([type, e]) => [
      type,
      { __resolveReference: (reference: Record<string, unknown>, rc: RequestContext) => e.resolveReference(reference, rc) },
    ]),
  );
  return buildSubgraphSchema({ typeDefs: federatedTypeDefs(typeDefs, entities), resolvers: resolvers as never });
}
