// Stripe's bracket-notation parameters (`created[gte]=1`, `expand[]=a`, `expand[0]=a`) parsed into a
// tree and checked against one endpoint's parameter list, with the API's own error messages.
import { StripeApiError, invalidRequest } from './errors.ts';

export type ParamValue = string | ParamValue[] | { [key: string]: ParamValue };
export type ParamTree = Record<string, ParamValue>;

const KEY = /^([^[\]]+)((?:\[[^[\]]*\])*)$/;

/** Parses a query string the way Stripe's Rack-style parser does. */
export function parseParams(search: URLSearchParams): ParamTree {
  const root: ParamTree = {};
  for (const [rawKey, value] of search) {
    const m = KEY.exec(rawKey);
    if (!m) throw invalidRequest(`Invalid parameter name: ${rawKey}`, rawKey);
    const base = m[1] as string;
    const segments = [...(m[2] ?? '').matchAll(/\[([^[\]]*)\]/g)].map((s) => s[1] as string);
    setPath(root, base, segments, value, rawKey);
  }
  return compactArrays(root) as ParamTree;
}

type Container = Record<string, ParamValue> | ParamValue[];

function setPath(parent: Container, key: string, segments: string[], value: string, rawKey: string): void {
  const assign = (container: Container, k: string, v: ParamValue) => {
    if (Array.isArray(container)) {
      if (k === '') container.push(v);
      else container[Number(k)] = v;
    } else container[k] = v;
  };
  const read = (container: Container, k: string): ParamValue | undefined =>
    Array.isArray(container) ? (k === '' ? undefined : container[Number(k)]) : container[k];

  if (segments.length === 0) {
    if (read(parent, key) !== undefined && typeof read(parent, key) !== 'string') {
      throw invalidRequest(`Invalid value for ${rawKey}: a scalar cannot replace a hash or an array`, rawKey);
    }
    assign(parent, key, value);
    return;
  }
  const [next, ...rest] = segments as [string, ...string[]];
  const wantArray = next === '' || /^\d+$/.test(next);
  let child = read(parent, key);
  if (child === undefined) {
    child = wantArray ? [] : {};
    assign(parent, key, child);
  } else if (typeof child === 'string' || Array.isArray(child) !== wantArray) {
    throw invalidRequest(`Invalid ${wantArray ? 'array' : 'hash'}`, rawKey.slice(0, rawKey.indexOf('[')));
  }
  setPath(child as Container, next, rest, value, rawKey);
}

function compactArrays(v: ParamValue): ParamValue {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return v.filter((x) => x !== undefined).map(compactArrays);
  const out: Record<string, ParamValue> = {};
  for (const [k, x] of Object.entries(v)) out[k] = compactArrays(x);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Validation against an endpoint's parameter list
// ---------------------------------------------------------------------------------------------

export type ParamSpec = 'string' | 'integer' | 'boolean' | 'range' | 'string_array' | { enum: readonly string[] } | { hash: Record<string, ParamSpec> };

export const PAGINATION: Record<string, ParamSpec> = {
  limit: 'integer',
  starting_after: 'string',
  ending_before: 'string',
  expand: 'string_array',
};

export interface Range {
  gt?: number;
  gte?: number;
  lt?: number;
  lte?: number;
  eq?: number;
}

const describe = (v: ParamValue): string => (typeof v === 'string' ? v : JSON.stringify(Array.isArray(v) ? { ...v } : v));

function emptyString(name: string): StripeApiError {
  return invalidRequest(
    `You passed an empty string for '${name}'. We assume empty values are an attempt to unset a parameter; however '${name}' cannot be unset. You should remove '${name}' from your request or supply a non-empty value.`,
    name,
  );
}

function integer(v: ParamValue, name: string): number {
  if (typeof v !== 'string') throw invalidRequest(`Invalid integer: ${describe(v)}`, name);
  if (v === '') throw emptyString(name);
  if (!/^-?\d+$/.test(v)) throw invalidRequest(`Invalid integer: ${v}`, name);
  return Number(v);
}

function oneValue(spec: ParamSpec, v: ParamValue, name: string): unknown {
  if (spec === 'string') {
    if (typeof v !== 'string') throw invalidRequest(`Invalid string: ${describe(v)}`, name);
    if (v === '') throw emptyString(name);
    return v;
  }
  if (spec === 'integer') return integer(v, name);
  if (spec === 'boolean') {
    if (v !== 'true' && v !== 'false') throw invalidRequest(`Invalid boolean: ${describe(v)}`, name);
    return v === 'true';
  }
  if (spec === 'string_array') {
    if (!Array.isArray(v)) throw invalidRequest('Invalid array', name);
    return v.map((x, i) => oneValue('string', x, `${name}[${i}]`));
  }
  if (spec === 'range') {
    if (typeof v === 'string') return { eq: integer(v, name) } satisfies Range;
    if (Array.isArray(v)) throw invalidRequest('Invalid hash', name);
    const out: Range = {};
    for (const [k, x] of Object.entries(v)) {
      if (k !== 'gt' && k !== 'gte' && k !== 'lt' && k !== 'lte') throw invalidRequest(`Received unknown parameter: ${name}[${k}]`, `${name}[${k}]`);
      out[k] = integer(x, `${name}[${k}]`);
    }
    return out;
  }
  if ('enum' in spec) {
    if (typeof v !== 'string') throw invalidRequest(`Invalid string: ${describe(v)}`, name);
    if (v === '') throw emptyString(name);
    if (!spec.enum.includes(v)) {
      const list = spec.enum.length > 1 ? `${spec.enum.slice(0, -1).join(', ')}, or ${spec.enum.at(-1)}` : spec.enum.join('');
      throw invalidRequest(`Invalid ${name.replace(/^.*\[|\]$/g, '')}: must be one of ${list}`, name);
    }
    return v;
  }
  if (typeof v === 'string' || Array.isArray(v)) throw invalidRequest('Invalid hash', name);
  return validateTree(v, spec.hash, `${name}[`);
}

function validateTree(tree: Record<string, ParamValue>, specs: Record<string, ParamSpec>, prefix: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const close = prefix === '' ? '' : ']';
  for (const [key, value] of Object.entries(tree)) {
    const name = `${prefix}${key}${close}`;
    const spec = specs[key];
    if (spec === undefined) throw invalidRequest(`Received unknown parameter: ${name}`, name);
    out[key] = oneValue(spec, value, name);
  }
  return out;
}

export interface ValidatedParams {
  limit: number;
  starting_after?: string;
  ending_before?: string;
  expand: string[];
  [key: string]: unknown;
}

/** Checks every parameter against `specs`; unknown ones fail like Stripe does. */
export function validateParams(tree: ParamTree, specs: Record<string, ParamSpec>): ValidatedParams {
  const out = validateTree(tree, specs, '');
  const limit = out['limit'] as number | undefined;
  if (limit !== undefined && limit < 1) throw invalidRequest('This value must be greater than or equal to 1.', 'limit');
  if (limit !== undefined && limit > 100) throw invalidRequest(`This value must be less than or equal to 100 (it currently is '${limit}')`, 'limit');
  return { ...out, limit: limit ?? 10, expand: (out['expand'] as string[] | undefined) ?? [] };
}

export function inRange(value: number, range: Range | undefined): boolean {
  if (!range) return true;
  if (range.eq !== undefined && value !== range.eq) return false;
  if (range.gt !== undefined && !(value > range.gt)) return false;
  if (range.gte !== undefined && !(value >= range.gte)) return false;
  if (range.lt !== undefined && !(value < range.lt)) return false;
  if (range.lte !== undefined && !(value <= range.lte)) return false;
  return true;
}
