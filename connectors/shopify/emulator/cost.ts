// Shopify's calculated query cost and its leaky bucket, for the emulator. Requested cost is static
// (before execution): scalars and enums 0, objects 1, a connection 2 + first|last × the cost of
// one node, a list argument like nodes(ids:) the list's length × one element, an interface or
// union the dearest of its possible selections. Actual cost walks the result the same way with
// the real number of nodes, and the bucket is refunded the difference after the query ran.
import {
  getNamedType,
  isAbstractType,
  isListType,
  isNonNullType,
  isObjectType,
  Kind,
  type FieldNode,
  type FragmentDefinitionNode,
  type GraphQLField,
  type GraphQLNamedType,
  type GraphQLObjectType,
  type GraphQLSchema,
  type SelectionSetNode,
  valueFromASTUntyped,
} from 'graphql';

export interface CostInput {
  schema: GraphQLSchema;
  fragments: Record<string, FragmentDefinitionNode>;
  variables: Record<string, unknown>;
}

/** Fields of `selection` that apply to the concrete type `type` (fragments and inline fragments resolved). */
function fieldsFor(input: CostInput, type: GraphQLObjectType, selection: SelectionSetNode, out: FieldNode[] = []): FieldNode[] {
  for (const s of selection.selections) {
    if (s.kind === Kind.FIELD) out.push(s);
    else {
      const frag = s.kind === Kind.INLINE_FRAGMENT ? s : input.fragments[s.name.value];
      if (!frag) continue;
      const on = frag.typeCondition?.name.value;
      const applies = !on || on === type.name || type.getInterfaces().some((i) => i.name === on);
      if (applies) fieldsFor(input, type, frag.selectionSet, out);
    }
  }
  return out;
}

function argument(input: CostInput, node: FieldNode, name: string): unknown {
  const arg = node.arguments?.find((a) => a.name.value === name);
  return arg ? valueFromASTUntyped(arg.value, input.variables) : undefined;
}

const isConnection = (t: GraphQLNamedType) => t.name.endsWith('Connection');

/** Concrete types a selection on `type` may meet. */
function concreteTypes(input: CostInput, type: GraphQLNamedType): GraphQLObjectType[] {
  if (isObjectType(type)) return [type];
  if (isAbstractType(type)) return [...input.schema.getPossibleTypes(type)];
  return [];
}

/** Cost of one object of `type` with `selection` (requested when `value` is undefined, else actual). */
function objectCost(input: CostInput, type: GraphQLObjectType, selection: SelectionSetNode | undefined, value?: Record<string, unknown>): number {
  let cost = 1;
  if (!selection) return cost;
  for (const node of fieldsFor(input, type, selection)) {
    const field = type.getFields()[node.name.value] as GraphQLField<unknown, unknown> | undefined;
    if (!field) continue;
    const key = node.alias?.value ?? node.name.value;
    cost += fieldCost(input, field, node, value === undefined ? undefined : value[key]);
  }
  return cost;
}

/** The dearest concrete type of an abstract type (requested), or the one the value has (actual). */
function elementCost(input: CostInput, named: GraphQLNamedType, selection: SelectionSetNode | undefined, value?: unknown): number {
  if (value === null) return 0;
  const types = concreteTypes(input, named);
  if (value !== undefined) {
    const typename = (value as { __typename?: string }).__typename;
    const type = types.find((t) => t.name === typename) ?? types[0];
    return type ? objectCost(input, type, selection, value as Record<string, unknown>) : 0;
  }
  return Math.max(0, ...types.map((t) => objectCost(input, t, selection)));
}

function fieldCost(input: CostInput, field: GraphQLField<unknown, unknown>, node: FieldNode, value?: unknown): number {
  const named = getNamedType(field.type);
  if (!isObjectType(named) && !isAbstractType(named)) return 0;
  if (value === null) return 0;
  const unwrapped = isNonNullType(field.type) ? field.type.ofType : field.type;
  if (isConnection(named) && isObjectType(named)) {
    // One node: what `nodes { … }` or `edges { node { … } }` select (pageInfo is part of the 2).
    const size = Number(argument(input, node, 'first') ?? argument(input, node, 'last') ?? 0);
    const nodeType = getNamedType((named.getFields()['nodes'] ?? named.getFields()['edges'])!.type);
    if (value === undefined) return 2 + size * connectionNodeCost(input, named, nodeType, node.selectionSet);
    return 2 + connectionActualCost(input, named, nodeType, node.selectionSet, value as { nodes?: unknown[]; edges?: Array<{ node?: unknown }> });
  }
  if (isListType(unwrapped)) {
    if (value !== undefined) return (value as unknown[]).reduce<number>((sum, v) => sum + elementCost(input, named, node.selectionSet, v), 0);
    const ids = argument(input, node, 'ids');
    const length = Array.isArray(ids) ? ids.length : Number(argument(input, node, 'first') ?? 1);
    return length * elementCost(input, named, node.selectionSet);
  }
  return elementCost(input, named, node.selectionSet, value);
}

/** Cost of one node of a connection, whichever of `nodes` / `edges { node }` the query used. */
function connectionNodeCost(input: CostInput, connection: GraphQLObjectType, nodeType: GraphQLNamedType, selection: SelectionSetNode | undefined): number {
  if (!selection) return 0;
  let best = 0;
  for (const f of fieldsFor(input, connection, selection)) {
    if (f.name.value === 'nodes') best = Math.max(best, elementCost(input, nodeType, f.selectionSet));
    if (f.name.value === 'edges' && f.selectionSet) {
      const edgeType = getNamedType(connection.getFields()['edges']!.type) as GraphQLObjectType;
      for (const e of fieldsFor(input, edgeType, f.selectionSet))
        if (e.name.value === 'node') best = Math.max(best, elementCost(input, nodeType, e.selectionSet));
    }
  }
  return best;
}

/** The nodes a connection returned, each at its actual cost (`nodes` and `edges` list the same records). */
function connectionActualCost(
  input: CostInput,
  connection: GraphQLObjectType,
  nodeType: GraphQLNamedType,
  selection: SelectionSetNode | undefined,
  value: { nodes?: unknown[]; edges?: Array<{ node?: unknown }> },
): number {
  if (!selection) return 0;
  let best = 0;
  const sum = (items: unknown[], sel: SelectionSetNode | undefined) => items.reduce<number>((acc, v) => acc + elementCost(input, nodeType, sel, v), 0);
  for (const f of fieldsFor(input, connection, selection)) {
    const key = f.alias?.value ?? f.name.value;
    if (f.name.value === 'nodes') best = Math.max(best, sum((value as Record<string, unknown[]>)[key] ?? [], f.selectionSet));
    if (f.name.value === 'edges' && f.selectionSet) {
      const edgeType = getNamedType(connection.getFields()['edges']!.type) as GraphQLObjectType;
      const edges = (value as Record<string, Array<Record<string, unknown>>>)[key] ?? [];
      for (const e of fieldsFor(input, edgeType, f.selectionSet)) {
        if (e.name.value === 'node')
          best = Math.max(
            best,
            sum(
              edges.map((edge) => edge[e.alias?.value ?? 'node']),
              e.selectionSet,
            ),
          );
      }
    }
  }
  return best;
}

/** Requested cost of an operation's root selection. */
export function requestedCost(input: CostInput, root: GraphQLObjectType, selection: SelectionSetNode): number {
  return objectCost(input, root, selection) - 1;
}

/** Actual cost: the same rules over the data the query returned. */
export function actualCost(input: CostInput, root: GraphQLObjectType, selection: SelectionSetNode, data: Record<string, unknown> | null | undefined): number {
  if (!data) return 0;
  return objectCost(input, root, selection, data) - 1;
}

// ---------------------------------------------------------------------------------------------

export interface BucketOptions {
  maximumAvailable: number;
  restoreRate: number;
}

export interface ThrottleStatus {
  maximumAvailable: number;
  currentlyAvailable: number;
  restoreRate: number;
}

/** One leaky bucket per app + shop (here: per access token). */
export class CostBuckets {
  private readonly levels = new Map<string, { available: number; at: number }>();
  /** THROTTLED answers given since the last reset (tests prove a client never provokes one). */
  throttled = 0;

  constructor(
    private readonly options: BucketOptions,
    private readonly now: () => number = Date.now,
  ) {}

  private level(key: string): { available: number; at: number } {
    const now = this.now();
    const b = this.levels.get(key) ?? { available: this.options.maximumAvailable, at: now };
    b.available = Math.min(this.options.maximumAvailable, b.available + ((now - b.at) / 1000) * this.options.restoreRate);
    b.at = now;
    this.levels.set(key, b);
    return b;
  }

  /** Takes `cost` points if the bucket holds them. */
  take(key: string, cost: number): boolean {
    const b = this.level(key);
    if (b.available < cost) {
      this.throttled++;
      return false;
    }
    b.available -= cost;
    return true;
  }

  refund(key: string, points: number): void {
    const b = this.level(key);
    b.available = Math.min(this.options.maximumAvailable, b.available + points);
  }

  /** Sets a bucket's level (tests drain it). */
  set(key: string, available: number): void {
    this.levels.set(key, { available, at: this.now() });
  }

  status(key: string): ThrottleStatus {
    const b = this.level(key);
    return { maximumAvailable: this.options.maximumAvailable, currentlyAvailable: Math.floor(b.available), restoreRate: this.options.restoreRate };
  }

  reset(): void {
    this.levels.clear();
    this.throttled = 0;
  }
}
