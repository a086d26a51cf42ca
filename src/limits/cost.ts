// The cost model in provider calls. Before a query runs, its document is walked once and the
// upstream calls it can cause are estimated as an upper bound: list pages per connection
// (`first` over each connector's page size), linked records as batch reads (maxBatchSize),
// deferred line items per batch of parents, per-contact lists (Contact.invoices/orders) once per
// parent unless the connector reads them for many contacts at once (listForContacts), nested
// lists multiplying, each scaled by what the connector declares a call of that kind costs
// (manifest.costs). Persons (person, people, Contact.person) cost one e-mail lookup per connection
// per person, or one per `emailsPerCall` persons where the connector finds many addresses at once
// (findByEmails), and are assumed to have one contact per connection for what is selected below
// them. A federation router's `_entities` references count like `nodes(ids:)`. Caches only lower
// the actual count, so actual ≤ estimate.
import { Kind, getOperationAST, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode, type ValueNode } from 'graphql';
import type { EntityType } from '../../connectors/sdk/models.ts';
import type { Connector } from '../../connectors/sdk/types.ts';
import { DEFAULT_LIMITS, type GatewayLimits } from '../config.ts';
import { listOrderArg, sortedByGateway } from '../loaders/list-order.ts';
import { decodeId } from '../ids.ts';

type Costs = NonNullable<Connector['manifest']['costs']>;
const cost = (c: Connector, kind: Exclude<keyof Costs, 'embedded'>): number => c.manifest.costs?.[kind] ?? 1;

interface Walk {
  fragments: Map<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
  /** listSortFallbackMax: DEFAULT_LIMITS' when absent. */
  limits: Pick<GatewayLimits, 'maxPageSize' | 'defaultPageSize'> & Partial<Pick<GatewayLimits, 'listSortFallbackMax'>>;
  /** The connector of each of the tenant's connections (repeated when it has several). */
  connectors: readonly Connector[];
  /** The connector of one of the tenant's connections by id (ids name their connection). */
  connectorOf: (connectionId: string) => Connector | undefined;
}

const ROOT_LISTS: Record<string, EntityType> = { contacts: 'Contact', invoices: 'Invoice', orders: 'Order' };
const ROOT_ONE: Record<string, EntityType | null> = { contact: 'Contact', invoice: 'Invoice', order: 'Order', node: null };
/** Linked records: field → the entity it loads (by id, batched). */
const LINKED: Record<EntityType, Record<string, EntityType>> = {
  Contact: {},
  Invoice: { contact: 'Contact', order: 'Order' },
  Order: { customer: 'Contact' },
};
const PER_CONTACT_LISTS: Record<string, EntityType> = { invoices: 'Invoice', orders: 'Order' };
/** `people` resolves at most this many persons (resolvers/person.ts MAX_PEOPLE). */
const MAX_PEOPLE = 100;

export interface CostEstimate {
  /** Upstream calls the operation can cause at most. */
  calls: number;
}

/** The estimate for the operation a request runs (0 for operations that reach no provider). */
export function estimateUpstreamCalls(
  document: DocumentNode,
  operationName: string | null | undefined,
  variables: Record<string, unknown> | undefined,
  connectors: readonly Connector[],
  limits: Walk['limits'],
  connectorOf: Walk['connectorOf'] = () => undefined,
): CostEstimate {
  const operation = getOperationAST(document, operationName ?? undefined);
  if (!operation || operation.operation !== 'query') return { calls: 0 };
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const walk: Walk = { fragments, variables: variables ?? {}, limits, connectors, connectorOf };
  return { calls: Math.ceil(queryCost(walk, operation.selectionSet)) };
}

/** Fields of a selection set, through inline fragments and fragment spreads, with the type condition they sit under. */
function fieldsOf(
  walk: Walk,
  set: SelectionSetNode | undefined,
  seen = new Set<string>(),
  on: string | null = null,
): Array<{ field: FieldNode; on: string | null }> {
  if (!set) return [];
  const out: Array<{ field: FieldNode; on: string | null }> = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD) out.push({ field: s, on });
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...fieldsOf(walk, s.selectionSet, seen, s.typeCondition?.name.value ?? on));
    else {
      const name = s.name.value;
      if (seen.has(name)) continue; // a cycle is a validation error; never loop here
      const fragment = walk.fragments.get(name);
      if (fragment) out.push(...fieldsOf(walk, fragment.selectionSet, new Set([...seen, name]), fragment.typeCondition.name.value));
    }
  }
  return out;
}

function valueOf(walk: Walk, node: ValueNode | undefined): unknown {
  if (!node) return undefined;
  switch (node.kind) {
    case Kind.VARIABLE:
      return walk.variables[node.name.value];
    case Kind.INT:
      return Number(node.value);
    case Kind.LIST:
      return node.values.map((v) => valueOf(walk, v));
    case Kind.OBJECT:
      return Object.fromEntries(node.fields.map((f) => [f.name.value, valueOf(walk, f.value)]));
    case Kind.NULL:
      return null;
    default:
      return 'value' in node ? node.value : undefined;
  }
}

function arg(walk: Walk, field: FieldNode, name: string): unknown {
  return valueOf(walk, field.arguments?.find((a) => a.name.value === name)?.value);
}

/** `first` as the resolver will use it (default, clamped to the gateway's maximum: larger is rejected anyway). */
function firstOf(walk: Walk, field: FieldNode): number {
  const given = arg(walk, field, 'first');
  const n = typeof given === 'number' && Number.isFinite(given) ? given : walk.limits.defaultPageSize;
  return Math.max(0, Math.min(n, walk.limits.maxPageSize));
}

const serving = (walk: Walk, entity: EntityType) => walk.connectors.filter((c) => c.manifest.entities.includes(entity));
const batchOf = (c: Connector, entity: EntityType) => c.manifest.maxBatchSize[entity] ?? 1;
const pageOf = (walk: Walk, c: Connector) => Math.max(1, Math.min(c.manifest.maxPageSize, walk.limits.maxPageSize));

/** Reading `n` records by id (spread over the connections in any way): batch reads, at most one per record. */
function batchReads(walk: Walk, entity: EntityType, n: number, linked = false): number {
  if (n <= 0) return 0;
  return serving(walk, entity).reduce(
    // A linked record the connector embeds in the linking answer (manifest.costs.embedded) is already loaded.
    (sum, c) => (linked && c.manifest.costs?.embedded?.includes(entity) ? sum : sum + Math.min(n, Math.ceil(n / batchOf(c, entity))) * cost(c, 'batchRead')),
    0,
  );
}

/**
 * Provider pages one page of a root list reads from a connection: `first` over its page size in the
 * order it serves; where the gateway sorts for it (an order the connection cannot serve, docs/lists.md),
 * the whole connection up to listSortFallbackMax records: the pages that reach one record past the
 * bound (where the read stops and the list fails with ORDER_NOT_SUPPORTED), whatever `first` is.
 */
function rootListPages(walk: Walk, c: Connector, entity: EntityType, first: number, order: ReturnType<typeof listOrderArg>, updatedSince: boolean): number {
  const page = pageOf(walk, c);
  if (!sortedByGateway(c, entity, order, updatedSince)) return Math.ceil(first / page);
  const bound = walk.limits.listSortFallbackMax ?? DEFAULT_LIMITS.listSortFallbackMax;
  return Math.max(Math.ceil(first / page), Math.ceil((bound + 1) / page));
}

function queryCost(walk: Walk, set: SelectionSetNode): number {
  let total = 0;
  for (const { field } of fieldsOf(walk, set)) {
    const name = field.name.value;
    const listed = ROOT_LISTS[name];
    if (listed) {
      const first = firstOf(walk, field);
      if (first === 0) continue;
      const order = listOrderArg(arg(walk, field, 'orderBy') as Parameters<typeof listOrderArg>[0]);
      const updatedSince = Boolean((arg(walk, field, 'filter') as { updatedSince?: unknown } | null | undefined)?.updatedSince);
      for (const c of serving(walk, listed)) total += rootListPages(walk, c, listed, first, order, updatedSince) * cost(c, 'listPage');
      total += connectionCost(walk, field, listed, first);
    } else if (name in ROOT_ONE) {
      total += byIdCost(walk, field, ROOT_ONE[name] ?? null, 1);
    } else if (name === 'nodes') {
      const ids = arg(walk, field, 'ids');
      total += Array.isArray(ids) ? globalIdsCost(walk, field, ids) : byIdCost(walk, field, null, 1);
    } else if (name === '_entities') {
      // A router's entity references: records by global id, like nodes(ids:).
      const references = arg(walk, field, 'representations');
      total += Array.isArray(references)
        ? globalIdsCost(
            walk,
            field,
            references.map((r) => (r as { id?: unknown } | null)?.id),
          )
        : byIdCost(walk, field, null, 1);
    } else if (name === 'person') {
      total += personCost(walk, field, 1);
    } else if (name === 'people') {
      const filter = arg(walk, field, 'filter') as { emails?: unknown; manuallyLinked?: unknown } | undefined;
      const emails = Array.isArray(filter?.emails) ? filter.emails.length : 0;
      total += personCost(walk, field, filter?.manuallyLinked ? MAX_PEOPLE : Math.min(emails, MAX_PEOPLE));
    }
  }
  return total;
}

/** `n` records read by id (node, nodes, contact, …): their batch reads and their selections. */
function byIdCost(walk: Walk, field: FieldNode, entity: EntityType | null, n: number): number {
  const types: EntityType[] = entity ? [entity] : ['Contact', 'Invoice', 'Order'];
  return types.reduce((sum, t) => sum + batchReads(walk, t, n) + entityCost(walk, field.selectionSet, t, n, entity === null), 0);
}

/**
 * `nodes(ids:)`: ids name their type and connection, so the reads are counted per connection
 * (batches of its maxBatchSize); ids that do not decode or name no connection of the tenant cost
 * nothing (they fail before any call).
 */
function globalIdsCost(walk: Walk, field: FieldNode, ids: readonly unknown[]): number {
  const groups = new Map<string, { connector: Connector; type: EntityType; n: number }>();
  for (const id of ids) {
    const decoded = typeof id === 'string' ? decodeId(id) : null;
    const connector = decoded ? walk.connectorOf(decoded.connectionId) : undefined;
    if (!decoded || !connector) continue;
    const key = `${decoded.connectionId}\u0000${decoded.type}`;
    const group = groups.get(key) ?? { connector, type: decoded.type, n: 0 };
    group.n++;
    groups.set(key, group);
  }
  let total = 0;
  const perType = new Map<EntityType, number>();
  for (const { connector, type, n } of groups.values()) {
    total += Math.ceil(n / batchOf(connector, type)) * cost(connector, 'batchRead');
    perType.set(type, (perType.get(type) ?? 0) + n);
  }
  for (const [type, n] of perType) total += entityCost(walk, field.selectionSet, type, n, true);
  return total;
}

/**
 * `n` persons: the e-mail lookups (per connection serving contacts: one findByEmails call per
 * `emailsPerCall` addresses, else one list page per address), then what is selected on them over
 * their contacts (one per such connection each).
 */
function personCost(walk: Walk, field: FieldNode, n: number): number {
  if (n <= 0) return 0;
  const contactConnectors = serving(walk, 'Contact');
  let total = 0;
  for (const c of contactConnectors) {
    total += c.loaders.Contact?.findByEmails ? Math.ceil(n / (c.manifest.costs?.emailsPerCall ?? 1)) * cost(c, 'emailLookup') : n * cost(c, 'listPage');
  }
  const contacts = n * contactConnectors.length;
  // invoices / orders of the person's contacts are the per-contact lists entityCost knows.
  total += entityCost(walk, field.selectionSet, 'Contact', contacts);
  for (const { field: f } of fieldsOf(walk, field.selectionSet)) {
    const name = f.name.value;
    if (name === 'contacts') total += entityCost(walk, f.selectionSet, 'Contact', contacts);
    else if (name === 'matchedOn' || name === 'unmerged')
      for (const { field: g } of fieldsOf(walk, f.selectionSet)) if (g.name.value === 'contact') total += entityCost(walk, g.selectionSet, 'Contact', contacts);
  }
  return total;
}

/** The selections of a Connection type (nodes, edges.node) over `n` records. */
function connectionCost(walk: Walk, field: FieldNode, entity: EntityType, n: number): number {
  let total = 0;
  for (const { field: f } of fieldsOf(walk, field.selectionSet)) {
    if (f.name.value === 'nodes') total += entityCost(walk, f.selectionSet, entity, n);
    else if (f.name.value === 'edges')
      for (const { field: e } of fieldsOf(walk, f.selectionSet)) if (e.name.value === 'node') total += entityCost(walk, e.selectionSet, entity, n);
  }
  return total;
}

/** What selecting `set` on `n` records of `entity` costs beyond the records themselves. */
function entityCost(walk: Walk, set: SelectionSetNode | undefined, entity: EntityType, n: number, onlyOwnType = false): number {
  if (n <= 0) return 0;
  let total = 0;
  for (const { field, on } of fieldsOf(walk, set)) {
    if (onlyOwnType && on !== null && on !== entity && on !== 'Node') continue;
    const name = field.name.value;
    const linked = LINKED[entity][name];
    if (linked) {
      total += batchReads(walk, linked, n, true) + entityCost(walk, field.selectionSet, linked, n);
    } else if (name === 'lineItems' && entity !== 'Contact') {
      for (const c of serving(walk, entity)) {
        if (!c.loaders[entity]?.lineItems) continue;
        total += Math.ceil(n / batchOf(c, entity)) * cost(c, 'lineItems');
      }
    } else if (name === 'person' && entity === 'Contact') {
      total += personCost(walk, field, n);
    } else if (name === 'raw') {
      // Served with the record, or re-read by id when only the record was cached.
      total += batchReads(walk, entity, n);
    } else if (entity === 'Contact' && PER_CONTACT_LISTS[name]) {
      const child = PER_CONTACT_LISTS[name] as EntityType;
      const first = firstOf(walk, field);
      if (first === 0) continue;
      for (const c of serving(walk, child)) {
        const pages = Math.ceil(first / pageOf(walk, c));
        const perContact = n * pages * cost(c, 'listPage');
        // Many contacts at once: their links, then every record listed read by id in batches.
        const batched = c.loaders[child]?.listForContacts
          ? Math.ceil(n / (c.manifest.costs?.contactsPerCall ?? 1)) * cost(c, 'listForContacts') +
            Math.ceil((n * first) / batchOf(c, child)) * cost(c, 'batchRead')
          : Number.POSITIVE_INFINITY;
        total += Math.min(perContact, batched);
      }
      total += connectionCost(walk, field, child, n * first);
    }
  }
  return total;
}
