// CRM search semantics: filterGroups are OR-ed, filters inside a group AND-ed; comparisons follow
// the property's HubSpot type (numbers numerically, dates/datetimes as epoch ms, strings
// case-insensitively); `associations.<object>` filters match associated record ids.
import { OBJECT_TYPE_DEFS, resolveObjectType, type ObjectType, type PropertyKind } from './schema.ts';
import type { HubSpotStore, StoredObject } from './store.ts';

export const SEARCH_OPERATORS = [
  'EQ',
  'NEQ',
  'LT',
  'LTE',
  'GT',
  'GTE',
  'BETWEEN',
  'IN',
  'NOT_IN',
  'HAS_PROPERTY',
  'NOT_HAS_PROPERTY',
  'CONTAINS_TOKEN',
  'NOT_CONTAINS_TOKEN',
] as const;
export type SearchOperator = (typeof SEARCH_OPERATORS)[number];

export interface SearchFilter {
  propertyName: string;
  operator: SearchOperator;
  value?: string;
  highValue?: string;
  values?: string[];
}

export class SearchValidationError extends Error {
  constructor(
    message: string,
    /** The request member at fault, for the body's `errors[].in`. */
    readonly field?: string,
  ) {
    super(message);
  }
}

/** HubSpot's documented search limits (filter limits: changelog 2024-08-26, REFERENCE.md §1). */
export const SEARCH_LIMITS = {
  maxLimit: 200,
  maxFilterGroups: 5,
  maxFiltersPerGroup: 10,
  maxTotalFilters: 25,
  maxQueryLength: 3000,
  maxResults: 10_000,
} as const;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Validates the `filterGroups` member of a search body; throws SearchValidationError with HubSpot-like text. */
export function parseFilterGroups(raw: unknown): SearchFilter[][] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new SearchValidationError('filterGroups must be an array');
  if (raw.length > SEARCH_LIMITS.maxFilterGroups) {
    throw new SearchValidationError(`Too many filter groups: ${raw.length}. The maximum is ${SEARCH_LIMITS.maxFilterGroups}.`, 'filterGroups');
  }
  let total = 0;
  return raw.map((group) => {
    if (!isObject(group) || !Array.isArray(group.filters)) throw new SearchValidationError('each filter group needs a filters array');
    if (group.filters.length > SEARCH_LIMITS.maxFiltersPerGroup) {
      throw new SearchValidationError(
        `Too many filters in a group: ${group.filters.length}. The maximum is ${SEARCH_LIMITS.maxFiltersPerGroup}.`,
        'filterGroups',
      );
    }
    total += group.filters.length;
    if (total > SEARCH_LIMITS.maxTotalFilters) {
      throw new SearchValidationError(`Too many filters: the maximum across all groups is ${SEARCH_LIMITS.maxTotalFilters}.`, 'filterGroups');
    }
    return group.filters.map((f): SearchFilter => {
      if (!isObject(f) || typeof f.propertyName !== 'string' || typeof f.operator !== 'string') {
        throw new SearchValidationError('each filter needs propertyName and operator');
      }
      if (!(SEARCH_OPERATORS as readonly string[]).includes(f.operator)) {
        throw new SearchValidationError(`Invalid operator "${f.operator}"`);
      }
      const op = f.operator as SearchOperator;
      const filter: SearchFilter = { propertyName: f.propertyName, operator: op };
      if (f.value !== undefined) filter.value = String(f.value);
      if (f.highValue !== undefined) filter.highValue = String(f.highValue);
      if (Array.isArray(f.values)) filter.values = f.values.map((v) => String(v));
      if ((op === 'IN' || op === 'NOT_IN') && !filter.values) throw new SearchValidationError(`${op} needs values`);
      if (op === 'BETWEEN' && (filter.value === undefined || filter.highValue === undefined)) {
        throw new SearchValidationError('BETWEEN needs value and highValue');
      }
      const needsValue = ['EQ', 'NEQ', 'LT', 'LTE', 'GT', 'GTE', 'CONTAINS_TOKEN', 'NOT_CONTAINS_TOKEN'];
      if (needsValue.includes(op) && filter.value === undefined) throw new SearchValidationError(`${op} needs a value`);
      return filter;
    });
  });
}

/** Converts a HubSpot date/datetime value (epoch ms, ISO date, ISO instant) to epoch ms. */
export function toEpochMs(value: string): number | null {
  const v = value.trim();
  if (/^-?\d+$/.test(v)) return Number(v);
  if (/^\d{4}-\d{2}-\d{2}$/.test(v)) return Date.parse(`${v}T00:00:00Z`);
  const ms = Date.parse(v);
  return Number.isNaN(ms) ? null : ms;
}

function compare(kind: PropertyKind, a: string, b: string): number | null {
  if (kind === 'number') {
    const x = Number(a);
    const y = Number(b);
    if (Number.isNaN(x) || Number.isNaN(y)) return null;
    return x - y;
  }
  if (kind === 'date' || kind === 'datetime') {
    const x = toEpochMs(a);
    const y = toEpochMs(b);
    if (x === null || y === null) return null;
    return x - y;
  }
  const x = a.toLowerCase();
  const y = b.toLowerCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

function tokenMatch(haystack: string, token: string): boolean {
  const pattern = token
    .toLowerCase()
    .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*');
  const re = new RegExp(`^${pattern}$`);
  return haystack
    .toLowerCase()
    .split(/[\s@.,;:/\\-]+/)
    .concat([haystack.toLowerCase()])
    .some((t) => re.test(t));
}

function matches(store: HubSpotStore, type: ObjectType, obj: StoredObject, f: SearchFilter): boolean {
  if (f.propertyName.startsWith('associations.')) {
    const target = resolveObjectType(f.propertyName.slice('associations.'.length));
    if (!target) return false;
    const ids = store.associated(type, obj.id, target);
    switch (f.operator) {
      case 'EQ':
        return ids.includes(f.value ?? '');
      case 'NEQ':
        return !ids.includes(f.value ?? '');
      case 'IN':
        return (f.values ?? []).some((v) => ids.includes(v));
      case 'NOT_IN':
        return !(f.values ?? []).some((v) => ids.includes(v));
      case 'HAS_PROPERTY':
        return ids.length > 0;
      case 'NOT_HAS_PROPERTY':
        return ids.length === 0;
      default:
        return false;
    }
  }
  const kind = OBJECT_TYPE_DEFS[type].properties[f.propertyName] ?? 'string';
  const actual = obj.properties[f.propertyName];
  switch (f.operator) {
    case 'HAS_PROPERTY':
      return actual !== undefined;
    case 'NOT_HAS_PROPERTY':
      return actual === undefined;
    case 'NEQ':
      return actual === undefined || compare(kind, actual, f.value ?? '') !== 0;
    case 'NOT_IN':
      // HubSpot: string values given to IN/NOT_IN must be lower-case to match.
      return (
        actual === undefined ||
        !(f.values ?? []).some((v) => (kind === 'string' || kind === 'enumeration' ? actual.toLowerCase() === v : compare(kind, actual, v) === 0))
      );
    case 'NOT_CONTAINS_TOKEN':
      return actual === undefined || !tokenMatch(actual, f.value ?? '');
    default:
      break;
  }
  if (actual === undefined) return false;
  switch (f.operator) {
    case 'EQ':
      return compare(kind, actual, f.value ?? '') === 0;
    case 'LT':
    case 'LTE':
    case 'GT':
    case 'GTE': {
      const c = compare(kind, actual, f.value ?? '');
      if (c === null) return false;
      return f.operator === 'LT' ? c < 0 : f.operator === 'LTE' ? c <= 0 : f.operator === 'GT' ? c > 0 : c >= 0;
    }
    case 'BETWEEN': {
      const lo = compare(kind, actual, f.value ?? '');
      const hi = compare(kind, actual, f.highValue ?? '');
      return lo !== null && hi !== null && lo >= 0 && hi <= 0;
    }
    case 'IN':
      return (f.values ?? []).some((v) => (kind === 'string' || kind === 'enumeration' ? actual.toLowerCase() === v : compare(kind, actual, v) === 0));
    case 'CONTAINS_TOKEN':
      return tokenMatch(actual, f.value ?? '');
    default:
      return false;
  }
}

export interface SortSpec {
  propertyName: string;
  direction: 'ASCENDING' | 'DESCENDING';
}

/** `sorts` entries may be strings (the spec's type; "-name" = descending) or {propertyName, direction}. */
export function parseSorts(raw: unknown): SortSpec[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new SearchValidationError('sorts must be an array');
  if (raw.length > 1) throw new SearchValidationError('Only one sort is allowed per search request.');
  return raw.map((s): SortSpec => {
    if (typeof s === 'string') {
      return s.startsWith('-') ? { propertyName: s.slice(1), direction: 'DESCENDING' } : { propertyName: s, direction: 'ASCENDING' };
    }
    if (isObject(s) && typeof s.propertyName === 'string') {
      const dir = s.direction === 'DESCENDING' ? 'DESCENDING' : 'ASCENDING';
      return { propertyName: s.propertyName, direction: dir };
    }
    throw new SearchValidationError('invalid sort');
  });
}

export interface SearchQuery {
  groups: SearchFilter[][];
  sorts: SortSpec[];
  query: string | null;
}

/** Runs a search over non-archived records; returns the full ordered match list. */
export function runSearch(store: HubSpotStore, type: ObjectType, q: SearchQuery): StoredObject[] {
  const def = OBJECT_TYPE_DEFS[type];
  const terms = q.query ? q.query.toLowerCase().split(/\s+/).filter(Boolean) : [];
  const hits = store.all(type).filter((obj) => {
    if (obj.archived) return false;
    if (q.groups.length > 0 && !q.groups.some((g) => g.every((f) => matches(store, type, obj, f)))) return false;
    if (terms.length > 0) {
      const text = def.searchableProperties
        .map((p) => obj.properties[p] ?? '')
        .join(' ')
        .toLowerCase();
      if (!terms.every((t) => text.includes(t))) return false;
    }
    return true;
  });
  const sort = q.sorts[0];
  // An unknown sort property is refused (400 VALIDATION_ERROR naming it), not silently ignored:
  // the strict reading, see README.md ("Search: sort on an unknown property") for what is confirmed.
  if (sort && !(sort.propertyName in def.properties)) throw new SearchValidationError(`Property "${sort.propertyName}" does not exist`, 'sorts');
  if (sort) {
    const kind = def.properties[sort.propertyName] ?? 'string';
    const sign = sort.direction === 'DESCENDING' ? -1 : 1;
    hits.sort((a, b) => {
      const x = a.properties[sort.propertyName];
      const y = b.properties[sort.propertyName];
      if (x === undefined && y === undefined) return Number(a.id) - Number(b.id);
      if (x === undefined) return 1;
      if (y === undefined) return -1;
      return sign * (compare(kind, x, y) ?? 0) || Number(a.id) - Number(b.id);
    });
  }
  return hits;
}
