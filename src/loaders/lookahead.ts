// Which linked records (Invoice.contact, Invoice.order, Order.customer) a list query will ask for,
// read from the query before its nodes are resolved: the list can then start their batch read as
// soon as it has its page, while graphql-js is still completing the list's own fields, instead of
// after (the CPU work of completing 100 nodes then runs during the upstream call, not before it).
import { GraphQLIncludeDirective, GraphQLSkipDirective, getDirectiveValues, type GraphQLResolveInfo, type SelectionSetNode } from 'graphql';
import type { EntityModelMap, EntityType } from '../../connectors/sdk/models.ts';

/** A field of an entity that resolves to another record of the same connection, by a remote id the model carries. */
export interface LinkedRecord {
  field: string;
  entity: EntityType;
  ref: string;
}

/** One of an entity's LinkedRecords, its `ref` checked against the entity's model. */
type LinkOf<E extends EntityType> = LinkedRecord & { ref: keyof EntityModelMap[E] & string };

/** Every such field, by the entity it is on (lookahead.test.ts checks the schema has no other; their resolvers call loadLinked). */
export const LINKED_RECORDS = {
  Contact: [],
  Invoice: [
    { field: 'contact', entity: 'Contact', ref: 'contactRemoteId' },
    { field: 'order', entity: 'Order', ref: 'orderRemoteId' },
  ],
  Order: [{ field: 'customer', entity: 'Contact', ref: 'customerRemoteId' }],
} satisfies { [E in EntityType]: Array<LinkOf<E>> };

/**
 * The linked-record fields selected on the nodes of the list field being resolved (under
 * `edges { node }` or `nodes`), through fragments, leaving out what @skip/@include leave out. A
 * field selected only under a condition this cannot evaluate is not reported (nothing is read
 * that the query may not ask for).
 */
export function selectedLinks(info: GraphQLResolveInfo, entity: EntityType): LinkedRecord[] {
  const links: LinkedRecord[] = LINKED_RECORDS[entity];
  if (links.length === 0) return [];
  const names = new Set<string>();
  const fields = (set: SelectionSetNode | undefined, visit: (name: string, selection: SelectionSetNode | undefined) => void, seen = new Set<string>()) => {
    for (const s of set?.selections ?? []) {
      if (!included(s, info)) continue;
      if (s.kind === 'Field') visit(s.name.value, s.selectionSet);
      else if (s.kind === 'InlineFragment') fields(s.selectionSet, visit, seen);
      else if (!seen.has(s.name.value)) {
        seen.add(s.name.value);
        fields(info.fragments[s.name.value]?.selectionSet, visit, seen);
      }
    }
  };
  const onNode = (set: SelectionSetNode | undefined) => fields(set, (name) => names.add(name));
  for (const listField of info.fieldNodes) {
    fields(listField.selectionSet, (name, set) => {
      if (name === 'nodes') onNode(set);
      else if (name === 'edges') fields(set, (edgeField, nodeSet) => edgeField === 'node' && onNode(nodeSet));
    });
  }
  return links.filter((l) => names.has(l.field));
}

function included(node: Parameters<typeof getDirectiveValues>[1], info: GraphQLResolveInfo): boolean {
  if (!node.directives?.length) return true;
  try {
    if (getDirectiveValues(GraphQLSkipDirective, node, info.variableValues)?.['if'] === true) return false;
    if (getDirectiveValues(GraphQLIncludeDirective, node, info.variableValues)?.['if'] === false) return false;
  } catch {
    return false;
  }
  return true;
}
