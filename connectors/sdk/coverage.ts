// Field coverage: what a connector declares about each normalized field it serves — whether it
// fills it (always, when the provider has a value, never) and from which provider field. The
// declaration is data in the connector's folder (coverage.ts); the gateway turns it into the
// `connectors { coverage }` query, the SDL descriptions Sandbox shows and docs/coverage.md, and
// the conformance suite (testing.ts, group `coverage`) checks it against the mapper's output on
// the emulator's data, so none of those can claim more than the connector does.
import type { EntityModelMap, EntityType } from './models.ts';

export type CoverageFill = 'ALWAYS' | 'WHEN_PRESENT' | 'NEVER';

export interface FieldFill {
  fill: CoverageFill;
  /** The provider's field (path or expression, as the provider names it); null for NEVER. */
  providerField: string | null;
}

/**
 * The normalized fields a declaration covers, by GraphQL field name, with the model property each
 * one reads (links are remote ids in the model). id, source and raw are every connector's alike.
 */
export const COVERED_FIELDS = {
  Contact: {
    firstName: 'firstName',
    lastName: 'lastName',
    name: 'name',
    jobTitle: 'jobTitle',
    companyName: 'companyName',
    emails: 'emails',
    phones: 'phones',
    addresses: 'addresses',
    tags: 'tags',
    customFields: 'customFields',
    createdAt: 'createdAt',
    updatedAt: 'updatedAt',
  },
  Invoice: {
    number: 'number',
    kind: 'kind',
    status: 'status',
    statusRaw: 'statusRaw',
    contact: 'contactRemoteId',
    order: 'orderRemoteId',
    issueDate: 'issueDate',
    dueDate: 'dueDate',
    paidAt: 'paidAt',
    currency: 'currency',
    subtotal: 'subtotal',
    tax: 'tax',
    discount: 'discount',
    total: 'total',
    amountPaid: 'amountPaid',
    balance: 'balance',
    memo: 'memo',
    paymentTerms: 'paymentTerms',
    exchangeRate: 'exchangeRate',
    baseCurrency: 'baseCurrency',
    payments: 'payments',
    lineItems: 'lineItems',
    createdAt: 'createdAt',
    updatedAt: 'updatedAt',
  },
  Order: {
    number: 'number',
    status: 'status',
    statusRaw: 'statusRaw',
    paymentStatus: 'paymentStatus',
    paymentStatusRaw: 'paymentStatusRaw',
    fulfillmentStatus: 'fulfillmentStatus',
    fulfillmentStatusRaw: 'fulfillmentStatusRaw',
    customer: 'customerRemoteId',
    customerEmail: 'customerEmail',
    customerName: 'customerName',
    currency: 'currency',
    lineItems: 'lineItems',
    subtotal: 'subtotal',
    shipping: 'shipping',
    tax: 'tax',
    discount: 'discount',
    total: 'total',
    refunded: 'refunded',
    billingAddress: 'billingAddress',
    shippingAddress: 'shippingAddress',
    placedAt: 'placedAt',
    createdAt: 'createdAt',
    updatedAt: 'updatedAt',
  },
} as const satisfies { [E in EntityType]: Record<string, keyof EntityModelMap[E]> };

export type CoveredField<E extends EntityType> = keyof (typeof COVERED_FIELDS)[E];

/** A connector's declaration: every covered field of every entity it serves. */
export type CoverageDeclaration = { [E in EntityType]?: { [F in CoveredField<E>]: FieldFill } };

/** Filled on every record, from `providerField`. */
export const always = (providerField: string): FieldFill => ({ fill: 'ALWAYS', providerField });
/** Filled when the provider's record has a value in `providerField`. */
export const whenPresent = (providerField: string): FieldFill => ({ fill: 'WHEN_PRESENT', providerField });
/** Never filled: the provider has no such field (or the connector does not read it). */
export const NEVER: FieldFill = { fill: 'NEVER', providerField: null };

/**
 * Whether a model value counts as filled: null, '', [], {} and the UNKNOWN of a normalized enum
 * (the mapper's "the provider said nothing we recognise") do not.
 */
export function isFilled(value: unknown): boolean {
  if (value === null || value === undefined || value === '' || value === 'UNKNOWN') return false;
  if (Array.isArray(value)) return value.length > 0;
  if (typeof value === 'object') return Object.keys(value).length > 0;
  return true;
}

/** The model value a covered field reads. */
export function coveredValue<E extends EntityType>(entity: E, field: string, model: EntityModelMap[E]): unknown {
  const property = (COVERED_FIELDS[entity] as Record<string, string>)[field];
  return property === undefined ? undefined : (model as unknown as Record<string, unknown>)[property];
}

/** Problems with a declaration (missing or unknown fields, a provider field on NEVER), one line each. */
export function coverageProblems(declaration: CoverageDeclaration | undefined, entities: readonly EntityType[]): string[] {
  const problems: string[] = [];
  if (!declaration) return ['coverage is missing: declare every covered field of every served entity'];
  for (const entity of entities) {
    const declared = (declaration[entity] ?? {}) as Record<string, FieldFill>;
    if (!declaration[entity]) problems.push(`coverage.${entity} is missing for served entity ${entity}`);
    const fields = Object.keys(COVERED_FIELDS[entity]);
    for (const field of fields) if (declaration[entity] && !declared[field]) problems.push(`coverage.${entity}.${field} is not declared`);
    for (const [field, fill] of Object.entries(declared)) {
      if (!fields.includes(field)) problems.push(`coverage.${entity}.${field} is not a covered field of ${entity}`);
      if (fill.fill === 'NEVER' && fill.providerField !== null) problems.push(`coverage.${entity}.${field} is NEVER but names a provider field`);
      if (fill.fill !== 'NEVER' && !fill.providerField) problems.push(`coverage.${entity}.${field} is ${fill.fill} but names no provider field`);
    }
  }
  for (const entity of Object.keys(declaration)) {
    if (!entities.includes(entity as EntityType)) problems.push(`coverage.${entity} is declared but manifest.entities does not list it`);
  }
  return problems;
}

/**
 * Where a declaration and the records disagree, one line per field: ALWAYS with an empty value,
 * NEVER with a filled one (with the first offending record's id).
 */
export function coverageViolations<E extends EntityType>(entity: E, declared: Record<string, FieldFill>, models: ReadonlyArray<EntityModelMap[E]>): string[] {
  const out: string[] = [];
  for (const [field, { fill }] of Object.entries(declared)) {
    if (fill === 'WHEN_PRESENT') continue;
    const wrong = models.find((m) => isFilled(coveredValue(entity, field, m)) !== (fill === 'ALWAYS'));
    if (wrong) {
      const seen = JSON.stringify(coveredValue(entity, field, wrong)) ?? 'undefined';
      out.push(`${entity}.${field} is declared ${fill} but record ${wrong.source.remoteId} has ${seen.slice(0, 80)}`);
    }
  }
  return out;
}

/** One row per declared field, in the order of COVERED_FIELDS. */
export interface CoverageRow extends FieldFill {
  type: EntityType;
  field: string;
}

export function coverageRows(declaration: CoverageDeclaration, entities: readonly EntityType[]): CoverageRow[] {
  const rows: CoverageRow[] = [];
  for (const type of entities) {
    const declared = declaration[type] as Record<string, FieldFill> | undefined;
    if (!declared) continue;
    for (const field of Object.keys(COVERED_FIELDS[type])) {
      const fill = declared[field];
      if (fill) rows.push({ type, field, ...fill });
    }
  }
  return rows;
}
