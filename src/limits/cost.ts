// The cost model in provider calls. Before a query runs, its document is walked once and the
// upstream calls it can cause are estimated as an upper bound: list pages per connection
// (`first` over each connector's page size), linked records as batch reads (maxBatchSize),
// deferred line items per batch of parents, per-contact lists (Contact.invoices/orders) once per
// parent unless the connector reads them for many contacts at once (listForContacts), nested
// lists multiplying, each scaled by what the connector declares a call of that kind costs
// (manifest.costs). Persons (person, people, Contact.person) cost one e-mail lookup per connection
// per person, or one per `emailsPerCall` persons where the connector finds many addresses at once
// (findByEmails), and are assumed to have one contact per connection for what is selected below
// them. A federation router's `_entities` references count like `nodes(ids:)` (Person references
// like `people(filter: { emails })`). Caches only lower the actual count, so actual ≤ estimate.
// Where the document names the connection, only that connection is counted: a root list's
// `filter.provider` / `filter.connectionId`, a record read by id (ids name their connection), and
// everything nested below such records (linked records, per-contact lists and line items are read
// in the connection of the record they hang off).
import { Kind, getOperationAST, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type SelectionSetNode, type ValueNode } from 'graphql';
import type { EntityType } from '../../connectors/sdk/models.ts';
import type { Connector } from '../../connectors/sdk/types.ts';
import { DEFAULT_LIMITS, type GatewayLimits } from '../config.ts';
import { listOrderArg, sortedByGateway } from '../loaders/list-order.ts';
import { decodeId } from '../ids.ts';

type Costs = NonNullable<Connector['manifest']['costs']>;
const cost = (c: Connector, kind: Exclude<keyof Costs, 'embedded' | 'batchRead' | 'listPage'>): number => c.manifest.costs?.[kind] ?? 1;
/** Calls one byIds chunk (`batchRead`) or one list page (`listPage`) of `entity` costs on this connector: one number, or per entity. */
export function entityCallCost(c: Connector, kind: 'batchRead' | 'listPage', entity: EntityType): number {
  const declared = c.manifest.costs?.[kind];
  return (typeof declared === 'number' ? declared : declared?.[entity]) ?? 1;
}
export const batchReadCost = (c: Connector, entity: EntityType): number => entityCallCost(c, 'batchRead', entity);
const listPageCost = (c: Connector, entity: EntityType): number => entityCallCost(c, 'listPage', entity);
/** Connectors a part of the document can reach: one per connection (repeated when a connector has several). */
type Scope = readonly Connector[];

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

const serving = (scope: Scope, entity: EntityType) => scope.filter((c) => c.manifest.entities.includes(entity));
const batchOf = (c: Connector, entity: EntityType) => c.manifest.maxBatchSize[entity] ?? 1;
const pageOf = (walk: Walk, c: Connector) => Math.max(1, Math.min(c.manifest.maxPageSize, walk.limits.maxPageSize));

/** Reading `n` records by id (spread over the connections in any way): batch reads, at most one per record. */
function batchReads(scope: Scope, entity: EntityType, n: number, linked = false): number {
  if (n <= 0) return 0;
  return serving(scope, entity).reduce(
    // A linked record the connector embeds in the linking answer (manifest.costs.embedded) is already loaded.
    (sum, c) =>
      linked && c.manifest.costs?.embedded?.includes(entity) ? sum : sum + Math.min(n, Math.ceil(n / batchOf(c, entity))) * batchReadCost(c, entity),
    0,
  );
}

/**
 * The connections a root list reads: those serving the entity, narrowed by `filter.provider` and
 * `filter.connectionId` as the list resolver narrows them (an id naming no connection of the tenant
 * reads none).
 */
function listScope(walk: Walk, field: FieldNode, entity: EntityType): Scope {
  const filter = arg(walk, field, 'filter') as { provider?: unknown; connectionId?: unknown } | null | undefined;
  let scope = serving(walk.connectors, entity);
  if (typeof filter?.provider === 'string' && filter.provider !== '') scope = scope.filter((c) => c.manifest.id === filter.provider);
  if (typeof filter?.connectionId === 'string' && filter.connectionId !== '') {
    const connector = walk.connectorOf(filter.connectionId);
    scope = connector && scope.includes(connector) ? [connector] : [];
  }
  return scope;
}

/**
 * A record read by one global id (contact, invoice, order, node): its type and connection when the
 * id decodes to one of the tenant's connections; nothing is read for an id that does not (it fails
 * before any call); every connection when the id is not known before execution.
 */
function idScope(walk: Walk, field: FieldNode, entity: EntityType | null): { scope: Scope; types: EntityType[] } {
  const all: EntityType[] = entity ? [entity] : ['Contact', 'Invoice', 'Order'];
  const id = arg(walk, field, 'id');
  if (typeof id !== 'string') return { scope: walk.connectors, types: all };
  const decoded = decodeId(id);
  const connector = decoded ? walk.connectorOf(decoded.connectionId) : undefined;
  if (!decoded || !connector || (entity !== null && decoded.type !== entity)) return { scope: [], types: [] };
  return { scope: [connector], types: [decoded.type] };
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
      const scope = listScope(walk, field, listed);
      for (const c of scope) total += rootListPages(walk, c, listed, first, order, updatedSince) * listPageCost(c, listed);
      total += connectionCost(walk, field, listed, first, scope);
    } else if (name in ROOT_ONE) {
      const { scope, types } = idScope(walk, field, ROOT_ONE[name] ?? null);
      total += byIdCost(walk, field, scope, types, 1);
    } else if (name === 'nodes') {
      const ids = arg(walk, field, 'ids');
      total += Array.isArray(ids) ? globalIdsCost(walk, field, ids) : byIdCost(walk, field, walk.connectors, ['Contact', 'Invoice', 'Order'], 1);
    } else if (name === '_entities') {
      // A router's entity references: records by global id, like nodes(ids:); persons by e-mail,
      // like people(filter: { emails }).
      const references = arg(walk, field, 'representations');
      if (!Array.isArray(references)) {
        total += byIdCost(walk, field, walk.connectors, ['Contact', 'Invoice', 'Order'], 1) + personCost(walk, field, 1, 'Person');
        continue;
      }
      const isPerson = (r: unknown) => (r as { __typename?: unknown } | null)?.__typename === 'Person';
      total += globalIdsCost(
        walk,
        field,
        references.filter((r) => !isPerson(r)).map((r) => (r as { id?: unknown } | null)?.id),
      );
      total += personCost(walk, field, Math.min(references.filter(isPerson).length, MAX_PEOPLE), 'Person');
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

/** `n` records of one of `types` read by id (node, nodes, contact, …) in `scope`: their batch reads and their selections. */
function byIdCost(walk: Walk, field: FieldNode, scope: Scope, types: readonly EntityType[], n: number): number {
  return types.reduce((sum, t) => sum + batchReads(scope, t, n) + entityCost(walk, field.selectionSet, t, n, scope, t), 0);
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
  const perType = new Map<EntityType, { n: number; scope: Connector[] }>();
  for (const { connector, type, n } of groups.values()) {
    total += Math.ceil(n / batchOf(connector, type)) * batchReadCost(connector, type);
    const group = perType.get(type) ?? { n: 0, scope: [] };
    group.n += n;
    group.scope.push(connector);
    perType.set(type, group);
  }
  for (const [type, { n, scope }] of perType) total += entityCost(walk, field.selectionSet, type, n, scope, type);
  return total;
}

/**
 * `n` persons: the e-mail lookups (per connection serving contacts: one findByEmails call per
 * `emailsPerCall` addresses, else one list page per address), then what is selected on them over
 * their contacts (one per such connection each).
 */
function personCost(walk: Walk, field: FieldNode, n: number, onlyOn: string | null = null): number {
  if (n <= 0) return 0;
  const contactConnectors = serving(walk.connectors, 'Contact');
  let total = 0;
  for (const c of contactConnectors) {
    total += c.loaders.Contact?.findByEmails ? Math.ceil(n / (c.manifest.costs?.emailsPerCall ?? 1)) * cost(c, 'emailLookup') : n * listPageCost(c, 'Contact');
  }
  const contacts = n * contactConnectors.length;
  // invoices / orders of the person's contacts are the per-contact lists entityCost knows.
  total += entityCost(walk, field.selectionSet, 'Contact', contacts, contactConnectors, onlyOn);
  for (const { field: f, on } of fieldsOf(walk, field.selectionSet)) {
    if (onlyOn !== null && on !== onlyOn) continue;
    const name = f.name.value;
    if (name === 'contacts') total += entityCost(walk, f.selectionSet, 'Contact', contacts, contactConnectors);
    else if (name === 'matchedOn' || name === 'unmerged')
      for (const { field: g } of fieldsOf(walk, f.selectionSet))
        if (g.name.value === 'contact') total += entityCost(walk, g.selectionSet, 'Contact', contacts, contactConnectors);
  }
  return total;
}

/** The selections of a Connection type (nodes, edges.node) over `n` records read in `scope`. */
function connectionCost(walk: Walk, field: FieldNode, entity: EntityType, n: number, scope: Scope): number {
  let total = 0;
  for (const { field: f } of fieldsOf(walk, field.selectionSet)) {
    if (f.name.value === 'nodes') total += entityCost(walk, f.selectionSet, entity, n, scope);
    else if (f.name.value === 'edges')
      for (const { field: e } of fieldsOf(walk, f.selectionSet)) if (e.name.value === 'node') total += entityCost(walk, e.selectionSet, entity, n, scope);
  }
  return total;
}

/**
 * `Contact.invoices`/`orders` of `n` contacts on connector `c` (src/loaders/contact-lists.ts): a
 * connector with `listForContacts` reads the first pages of many contacts at once (one links read
 * per `contactsPerCall` contacts, then the records by id); a later page (`after`), or a page larger
 * than the connector serves, is read for one contact at a time, and for such a connector that is
 * the same links read and batch reads for that contact alone (HubSpot: 3 calls, not a list page's 2).
 * The others: one list call per page per contact.
 */
function perContactListCost(walk: Walk, c: Connector, child: EntityType, n: number, first: number, resumed: boolean): number {
  const pages = Math.ceil(first / pageOf(walk, c));
  const perContact = n * pages * listPageCost(c, child);
  if (!c.loaders[child]?.listForContacts) return perContact;
  const reads = (contacts: number) => Math.ceil((contacts * first) / batchOf(c, child)) * batchReadCost(c, child);
  if (!resumed && first <= pageOf(walk, c)) return Math.ceil(n / (c.manifest.costs?.contactsPerCall ?? 1)) * cost(c, 'listForContacts') + reads(n);
  return n * Math.max(pages * listPageCost(c, child), cost(c, 'listForContacts') + reads(1));
}

/**
 * What selecting `set` on `n` records of `entity`, read in `scope`, costs beyond the records
 * themselves. `onlyOn`: only the fields under that type condition (or none) count.
 */
function entityCost(walk: Walk, set: SelectionSetNode | undefined, entity: EntityType, n: number, scope: Scope, onlyOn: string | null = null): number {
  if (n <= 0) return 0;
  let total = 0;
  for (const { field, on } of fieldsOf(walk, set)) {
    if (onlyOn !== null && on !== null && on !== onlyOn && on !== 'Node') continue;
    const name = field.name.value;
    const linked = LINKED[entity][name];
    if (linked) {
      // Read in the linking record's connection.
      total += batchReads(scope, linked, n, true) + entityCost(walk, field.selectionSet, linked, n, serving(scope, linked));
    } else if (name === 'lineItems' && entity !== 'Contact') {
      for (const c of serving(scope, entity)) {
        if (!c.loaders[entity]?.lineItems) continue;
        total += Math.ceil(n / batchOf(c, entity)) * cost(c, 'lineItems');
      }
    } else if (name === 'person' && entity === 'Contact') {
      total += personCost(walk, field, n);
    } else if (name === 'raw') {
      // Served with the record, or re-read by id when only the record was cached.
      total += batchReads(scope, entity, n);
    } else if (entity === 'Contact' && PER_CONTACT_LISTS[name]) {
      const child = PER_CONTACT_LISTS[name] as EntityType;
      const first = firstOf(walk, field);
      if (first === 0) continue;
      const after = arg(walk, field, 'after');
      const resumed = after !== undefined && after !== null;
      // Each contact's list is read in the contact's own connection.
      const childScope = serving(
        scope.filter((c) => c.manifest.entities.includes('Contact')),
        child,
      );
      for (const c of childScope) total += perContactListCost(walk, c, child, n, first, resumed);
      total += connectionCost(walk, field, child, n * first, childScope);
    }
  }
  return total;
}
