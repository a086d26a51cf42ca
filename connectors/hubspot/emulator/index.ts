// HubSpot CRM emulator: the v3 objects API (list, get, batch read, search) for contacts, invoices,
// orders and line items, plus the v4 associations batch read, answering with HubSpot's shapes,
// status codes, error bodies and rate-limit headers from a seeded, deterministic portal.
import { randomUUID } from 'node:crypto';
import {
  startEmulator as startBaseEmulator,
  type EmulatorHandle,
  type EmulatorReply,
  type EmulatorRequest,
  type EmulatorRoute,
  type ProviderEmulatorOptions,
  type StartProviderEmulator,
} from '../../sdk/emulator.ts';
import { associationLabel, associationTypeId, OBJECT_TYPE_DEFS, resolveObjectType, type ObjectType } from './schema.ts';
import { parseFilterGroups, parseSorts, runSearch, SEARCH_LIMITS, SearchValidationError } from './search.ts';
import { seedStore } from './seed.ts';
import type { HubSpotStore, StoredObject } from './store.ts';

export { HubSpotStore } from './store.ts';
export type { StoredObject, StoreChange } from './store.ts';
export { DEFAULT_SCALE, DEFAULT_SEED } from './seed.ts';

export interface RateWindow {
  max: number;
  intervalMs: number;
}

export interface HubSpotEmulatorOptions extends ProviderEmulatorOptions {
  /**
   * Burst limit per token. Default: HubSpot's private-app Professional limit, 190 per 10 s.
   * `rateLimitPerSecond` (the shared option) is used as { max: n, intervalMs: 1000 } when this is unset.
   */
  rateLimit?: RateWindow;
  /** CRM search's own limit per token (exempt from the burst limit). Default 5 per second; null = off. */
  searchRateLimit?: RateWindow | null;
  /** Daily requests per token. Default 625,000 (Professional). */
  dailyLimit?: number;
  /** Portal (hub) id reported by the emulator. Default 62515. */
  portalId?: number;
}

export interface HubSpotEmulatorHandle extends EmulatorHandle {
  /** The live data set; mutate it through its methods. */
  readonly store: HubSpotStore;
  readonly portalId: number;
}

export const BATCH_READ_MAX_INPUTS = 100;
export const BATCH_READ_MAX_INPUTS_WITH_HISTORY = 50;
export const ASSOCIATIONS_BATCH_READ_MAX_INPUTS = 1000;
export const LIST_DEFAULT_LIMIT = 10;
export const LIST_MAX_LIMIT = 100;
/** Associated ids embedded per record and type in v3 reads before `paging` says there are more (UNCONFIRMED). */
export const INLINE_ASSOCIATIONS_LIMIT = 100;
/** Associations returned per record in one v4 batch read page. */
const ASSOCIATIONS_PAGE_SIZE = 500;

const DEFAULT_RATE_LIMIT: RateWindow = { max: 190, intervalMs: 10_000 };
const DEFAULT_SEARCH_RATE_LIMIT: RateWindow = { max: 5, intervalMs: 1000 };
const DEFAULT_DAILY_LIMIT = 625_000;

class SlidingWindow {
  private hits: number[] = [];
  constructor(readonly window: RateWindow) {}
  /** Records a hit when allowed; returns whether it was. */
  take(now: number): boolean {
    this.prune(now);
    if (this.hits.length >= this.window.max) return false;
    this.hits.push(now);
    return true;
  }
  remaining(now: number): number {
    this.prune(now);
    return Math.max(0, this.window.max - this.hits.length);
  }
  private prune(now: number): void {
    const from = now - this.window.intervalMs;
    let i = 0;
    while (i < this.hits.length && (this.hits[i] ?? 0) <= from) i++;
    if (i > 0) this.hits = this.hits.slice(i);
  }
}

interface TokenState {
  burst: SlidingWindow;
  search: SlidingWindow | null;
  dailyUsed: number;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

export async function startEmulator(options: HubSpotEmulatorOptions): Promise<HubSpotEmulatorHandle> {
  const seedOptions: Parameters<typeof seedStore>[0] = {};
  if (options.seed !== undefined) seedOptions.seed = options.seed;
  if (options.scale !== undefined) seedOptions.scale = options.scale;
  const store = seedStore(seedOptions);
  const portalId = options.portalId ?? 62515;
  const credentials = new Set(options.credentials);
  const burstWindow =
    options.rateLimit ?? (options.rateLimitPerSecond ? { max: options.rateLimitPerSecond, intervalMs: 1000 } : DEFAULT_RATE_LIMIT);
  const searchWindow = options.searchRateLimit === undefined ? DEFAULT_SEARCH_RATE_LIMIT : options.searchRateLimit;
  const dailyLimit = options.dailyLimit ?? DEFAULT_DAILY_LIMIT;
  const tokens = new Map<string, TokenState>();
  const correlationIds = new WeakMap<EmulatorRequest, string>();

  const correlationId = (req: EmulatorRequest): string => {
    let id = correlationIds.get(req);
    if (!id) {
      id = randomUUID();
      correlationIds.set(req, id);
    }
    return id;
  };
  const tokenOf = (req: EmulatorRequest): string | null => {
    const header = req.headers.authorization;
    const match = typeof header === 'string' ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    return match?.[1] ?? null;
  };
  const stateOf = (token: string): TokenState => {
    let s = tokens.get(token);
    if (!s) {
      s = { burst: new SlidingWindow(burstWindow), search: searchWindow ? new SlidingWindow(searchWindow) : null, dailyUsed: 0 };
      tokens.set(token, s);
    }
    return s;
  };
  const isSearch = (req: EmulatorRequest) => req.method === 'POST' && /^\/crm\/v3\/objects\/[^/]+\/search\/?$/.test(req.path);

  const rateHeaders = (req: EmulatorRequest): Record<string, string> => {
    const token = tokenOf(req) ?? '';
    const s = stateOf(token);
    return {
      'x-hubspot-ratelimit-max': String(burstWindow.max),
      'x-hubspot-ratelimit-remaining': String(s.burst.remaining(Date.now())),
      'x-hubspot-ratelimit-interval-milliseconds': String(burstWindow.intervalMs),
      'x-hubspot-ratelimit-daily': String(dailyLimit),
      'x-hubspot-ratelimit-daily-remaining': String(Math.max(0, dailyLimit - s.dailyUsed)),
    };
  };

  const error = (req: EmulatorRequest, status: number, category: string, message: string, extra: Record<string, unknown> = {}): EmulatorReply => ({
    status,
    body: { status: 'error', message, correlationId: correlationId(req), category, ...extra },
  });
  const validation = (req: EmulatorRequest, message: string, extra: Record<string, unknown> = {}) => error(req, 400, 'VALIDATION_ERROR', message, extra);

  const rateLimitBody = (req: EmulatorRequest, policyName: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY') => ({
    status: 'error',
    message:
      policyName === 'DAILY'
        ? 'You have reached your daily limit.'
        : policyName === 'SECONDLY'
          ? 'You have reached your secondly limit.'
          : 'You have reached your ten_secondly_rolling limit.',
    errorType: 'RATE_LIMIT',
    correlationId: correlationId(req),
    policyName,
    requestId: randomUUID(),
  });

  const errorBody = (status: number, message: string, req: EmulatorRequest): unknown => {
    if (status === 429) return rateLimitBody(req, 'TEN_SECONDLY_ROLLING');
    const category =
      status === 400
        ? 'VALIDATION_ERROR'
        : status === 401
          ? 'INVALID_AUTHENTICATION'
          : status === 403
            ? 'MISSING_SCOPES'
            : status === 404
              ? 'OBJECT_NOT_FOUND'
              : status === 409
                ? 'CONFLICT'
                : status >= 500
                  ? 'INTERNAL_ERROR'
                  : 'VALIDATION_ERROR';
    return { status: 'error', message, correlationId: correlationId(req), category };
  };

  const authenticate = (req: EmulatorRequest): EmulatorReply | null => {
    const token = tokenOf(req);
    if (!token || !credentials.has(token)) {
      return {
        status: 401,
        headers: { 'x-hubspot-correlation-id': correlationId(req) },
        body: {
          status: 'error',
          message:
            'Authentication credentials not found. This API supports OAuth 2.0 authentication and you can find more details at https://developers.hubspot.com/docs/methods/auth/oauth-overview',
          correlationId: correlationId(req),
          category: 'INVALID_AUTHENTICATION',
        },
      };
    }
    const s = stateOf(token);
    const now = Date.now();
    const search = isSearch(req);
    const limited = (policy: 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY'): EmulatorReply => ({
      status: 429,
      headers: { 'x-hubspot-correlation-id': correlationId(req), ...(search ? {} : rateHeaders(req)) },
      body: rateLimitBody(req, policy),
    });
    if (s.dailyUsed >= dailyLimit) return limited('DAILY');
    if (search) {
      if (s.search && !s.search.take(now)) return limited('SECONDLY');
    } else if (!s.burst.take(now)) {
      return limited('TEN_SECONDLY_ROLLING');
    }
    s.dailyUsed += 1;
    return null;
  };

  // ---------------------------------------------------------------------------------------------
  // Shaping records
  // ---------------------------------------------------------------------------------------------

  /** Values of a multi-valued query parameter: repeated keys and/or comma lists. Null when absent. */
  const listParam = (query: URLSearchParams, name: string): string[] | null => {
    const raw = query.getAll(name);
    if (raw.length === 0) return null;
    return raw.flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '');
  };

  const selectProperties = (type: ObjectType, obj: StoredObject, requested: string[] | null): Record<string, string | null> => {
    const def = OBJECT_TYPE_DEFS[type];
    const names = new Set<string>();
    if (requested && requested.length > 0) {
      for (const p of def.alwaysProperties) names.add(p);
      // Properties the object type does not define are ignored, as HubSpot does.
      for (const p of requested) if (p in def.properties || p in obj.properties) names.add(p);
    } else {
      for (const p of def.defaultProperties) names.add(p);
    }
    const out: Record<string, string | null> = {};
    for (const name of [...names].sort()) out[name] = obj.properties[name] ?? null;
    return out;
  };

  const withHistory = (type: ObjectType, obj: StoredObject, names: string[]) => {
    const def = OBJECT_TYPE_DEFS[type];
    const out: Record<string, Array<{ value: string; timestamp: string; sourceType: string }>> = {};
    for (const name of names) {
      if (!(name in def.properties)) continue;
      const value = obj.properties[name];
      out[name] = value === undefined ? [] : [{ value, timestamp: obj.updatedAt, sourceType: 'API' }];
    }
    return out;
  };

  const shape = (
    type: ObjectType,
    obj: StoredObject,
    requested: string[] | null,
    history: string[] | null,
    associations: ObjectType[] | null,
  ): Record<string, unknown> => {
    const out: Record<string, unknown> = { id: obj.id, properties: selectProperties(type, obj, requested) };
    if (history && history.length > 0) out.propertiesWithHistory = withHistory(type, obj, history);
    out.createdAt = obj.createdAt;
    out.updatedAt = obj.updatedAt;
    out.archived = obj.archived;
    if (obj.archivedAt) out.archivedAt = obj.archivedAt;
    if (associations && associations.length > 0) {
      const assoc: Record<string, unknown> = {};
      for (const to of associations) {
        const ids = store.associated(type, obj.id, to);
        // HubSpot leaves out association types a record has none of.
        if (ids.length === 0) continue;
        const label = associationLabel(type, to);
        const collection: Record<string, unknown> = { results: ids.slice(0, INLINE_ASSOCIATIONS_LIMIT).map((id) => ({ id, type: label })) };
        if (ids.length > INLINE_ASSOCIATIONS_LIMIT) collection.paging = { next: { after: String(INLINE_ASSOCIATIONS_LIMIT) } };
        assoc[OBJECT_TYPE_DEFS[to].associationKey] = collection;
      }
      if (Object.keys(assoc).length > 0) out.associations = assoc;
    }
    return out;
  };

  const objectTypeOr400 = (req: EmulatorRequest, raw: string | undefined): ObjectType | EmulatorReply => {
    const type = resolveObjectType(raw ?? '');
    return type ?? validation(req, `Unable to infer object type from: ${raw ?? ''}`);
  };
  const isReply = (v: unknown): v is EmulatorReply => isObject(v) && typeof v.status === 'number';

  const parseJson = (req: EmulatorRequest): { ok: true; value: unknown } | { ok: false; reply: EmulatorReply } => {
    const text = req.rawBody.toString('utf8');
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch (err) {
      return { ok: false, reply: validation(req, `Invalid input JSON on line 1: ${(err as Error).message}`) };
    }
  };

  const archivedFlag = (req: EmulatorRequest): boolean => req.query.get('archived') === 'true';

  const associationsParam = (req: EmulatorRequest): ObjectType[] | null => {
    const names = listParam(req.query, 'associations');
    if (!names) return null;
    // Unknown association names are ignored (spec: "If any ... do not exist, they will be ignored").
    const types = names.map(resolveObjectType).filter((t): t is ObjectType => t !== null);
    return [...new Set(types)];
  };

  const findByIdProperty = (type: ObjectType, idProperty: string, value: string): StoredObject | undefined => {
    const wanted = value.toLowerCase();
    return store.all(type).find((o) => (o.properties[idProperty] ?? '').toLowerCase() === wanted);
  };

  // ---------------------------------------------------------------------------------------------
  // Handlers
  // ---------------------------------------------------------------------------------------------

  const list = (req: EmulatorRequest): EmulatorReply => {
    const type = objectTypeOr400(req, req.params.objectType);
    if (isReply(type)) return type;
    const rawLimit = req.query.get('limit');
    const limit = rawLimit === null ? LIST_DEFAULT_LIMIT : Number(rawLimit);
    if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
      return validation(req, `limit must be an integer between 1 and ${LIST_MAX_LIMIT}, got ${rawLimit ?? ''}`, {
        errors: [{ message: `limit must be between 1 and ${LIST_MAX_LIMIT}`, in: 'limit' }],
      });
    }
    const after = req.query.get('after');
    if (after !== null && !/^\d+$/.test(after)) {
      return validation(req, `Invalid after value: ${after}`, { errors: [{ message: 'after must be a paging cursor returned by a previous page', in: 'after' }] });
    }
    const archived = archivedFlag(req);
    const matching = store.all(type).filter((o) => o.archived === archived && (after === null || Number(o.id) >= Number(after)));
    const page = matching.slice(0, limit);
    const next = matching[limit];
    const requested = listParam(req.query, 'properties');
    const history = listParam(req.query, 'propertiesWithHistory');
    const associations = associationsParam(req);
    const body: Record<string, unknown> = { results: page.map((o) => shape(type, o, requested, history, associations)) };
    if (next) {
      const params = new URLSearchParams(req.query);
      params.set('after', next.id);
      const host = typeof req.headers.host === 'string' ? req.headers.host : 'api.hubapi.com';
      body.paging = { next: { after: next.id, link: `http://${host}${req.path}?${params.toString()}` } };
    }
    return { status: 200, body };
  };

  const getOne = (req: EmulatorRequest): EmulatorReply => {
    const type = objectTypeOr400(req, req.params.objectType);
    if (isReply(type)) return type;
    const rawId = req.params.objectId ?? '';
    const idProperty = req.query.get('idProperty');
    const obj = idProperty ? findByIdProperty(type, idProperty, rawId) : store.get(type, rawId);
    if (!obj || obj.archived !== archivedFlag(req)) {
      return error(req, 404, 'OBJECT_NOT_FOUND', 'resource not found');
    }
    return {
      status: 200,
      body: shape(type, obj, listParam(req.query, 'properties'), listParam(req.query, 'propertiesWithHistory'), associationsParam(req)),
    };
  };

  const stringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

  const batchRead = (req: EmulatorRequest): EmulatorReply => {
    const startedAt = new Date().toISOString();
    const type = objectTypeOr400(req, req.params.objectType);
    if (isReply(type)) return type;
    const parsed = parseJson(req);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isObject(body)) return validation(req, 'Invalid input JSON: expected an object');
    const missing = ['inputs', 'properties', 'propertiesWithHistory'].filter((k) => body[k] === undefined);
    if (missing.length > 0) {
      return validation(req, `Invalid input JSON on line 1, column 1: Some required fields were not set: [${missing.join(', ')}]`);
    }
    if (!Array.isArray(body.inputs) || !stringArray(body.properties) || !stringArray(body.propertiesWithHistory)) {
      return validation(req, 'Invalid input JSON: inputs must be an array of {id}, properties and propertiesWithHistory arrays of strings');
    }
    const inputs = body.inputs;
    if (inputs.length > BATCH_READ_MAX_INPUTS) {
      return validation(req, `The maximum number of inputs supported in a batch request is ${BATCH_READ_MAX_INPUTS}.`, {
        context: { inputs: [String(inputs.length)] },
      });
    }
    if (body.propertiesWithHistory.length > 0 && inputs.length > BATCH_READ_MAX_INPUTS_WITH_HISTORY) {
      return validation(req, `The maximum number of inputs supported in a batch request for property histories is ${BATCH_READ_MAX_INPUTS_WITH_HISTORY}.`);
    }
    const ids: string[] = [];
    for (const input of inputs) {
      if (!isObject(input) || (typeof input.id !== 'string' && typeof input.id !== 'number')) {
        return validation(req, 'Invalid input JSON: every input needs an id');
      }
      ids.push(String(input.id));
    }
    const idProperty = typeof body.idProperty === 'string' && body.idProperty !== '' ? body.idProperty : null;
    const archived = archivedFlag(req);
    const found = new Map<string, StoredObject>();
    const notFound: string[] = [];
    for (const id of ids) {
      const obj = idProperty ? findByIdProperty(type, idProperty, id) : store.get(type, id);
      if (obj && obj.archived === archived) found.set(obj.id, obj);
      else if (!notFound.includes(id)) notFound.push(id);
    }
    // HubSpot does not promise input order; answer in id order so clients must not rely on it.
    const results = [...found.values()]
      .sort((a, b) => Number(a.id) - Number(b.id))
      .map((o) => shape(type, o, body.properties as string[], body.propertiesWithHistory as string[], null));
    const completedAt = new Date().toISOString();
    if (notFound.length === 0) return { status: 200, body: { status: 'COMPLETE', results, startedAt, completedAt } };
    return {
      status: 207,
      body: {
        status: 'COMPLETE',
        results,
        numErrors: 1,
        errors: [
          {
            status: 'error',
            category: 'OBJECT_NOT_FOUND',
            message: `Could not get some ${OBJECT_TYPE_DEFS[type].errorName} objects, they may be deleted or not exist. Check that ids are valid.`,
            context: { ids: notFound },
            errors: [],
            links: {},
          },
        ],
        startedAt,
        completedAt,
      },
    };
  };

  const search = (req: EmulatorRequest): EmulatorReply => {
    const type = objectTypeOr400(req, req.params.objectType);
    if (isReply(type)) return type;
    const parsed = parseJson(req);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isObject(body)) return validation(req, 'Invalid input JSON: expected an object');
    const limit = body.limit === undefined ? LIST_DEFAULT_LIMIT : Number(body.limit);
    if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit) {
      return validation(req, `limit must be between 0 and ${SEARCH_LIMITS.maxLimit}`, { errors: [{ message: `limit must be <= ${SEARCH_LIMITS.maxLimit}`, in: 'limit' }] });
    }
    const rawAfter = body.after === undefined || body.after === null || body.after === '' ? '0' : String(body.after);
    if (!/^\d+$/.test(rawAfter)) return validation(req, `Invalid after value: ${rawAfter}`);
    const offset = Number(rawAfter);
    if (offset + limit > SEARCH_LIMITS.maxResults) {
      return validation(req, `Paging beyond ${SEARCH_LIMITS.maxResults} results is not supported by search.`);
    }
    if (body.query !== undefined && (typeof body.query !== 'string' || body.query.length > SEARCH_LIMITS.maxQueryLength)) {
      return validation(req, `query must be a string of at most ${SEARCH_LIMITS.maxQueryLength} characters`);
    }
    if (body.properties !== undefined && !stringArray(body.properties)) return validation(req, 'properties must be an array of strings');
    let hits: StoredObject[];
    try {
      hits = runSearch(store, type, {
        groups: parseFilterGroups(body.filterGroups),
        sorts: parseSorts(body.sorts),
        query: typeof body.query === 'string' && body.query.trim() !== '' ? body.query : null,
      });
    } catch (err) {
      if (err instanceof SearchValidationError) return validation(req, err.message);
      throw err;
    }
    const page = hits.slice(offset, offset + limit);
    const requested = body.properties === undefined ? null : (body.properties as string[]);
    const out: Record<string, unknown> = { total: hits.length, results: page.map((o) => shape(type, o, requested, null, null)) };
    if (offset + limit < hits.length && limit > 0) out.paging = { next: { after: String(offset + limit) } };
    return { status: 200, body: out };
  };

  const associationsBatchRead = (req: EmulatorRequest): EmulatorReply => {
    const startedAt = new Date().toISOString();
    const from = objectTypeOr400(req, req.params.fromObjectType);
    if (isReply(from)) return from;
    const to = objectTypeOr400(req, req.params.toObjectType);
    if (isReply(to)) return to;
    const parsed = parseJson(req);
    if (!parsed.ok) return parsed.reply;
    const body = parsed.value;
    if (!isObject(body) || !Array.isArray(body.inputs)) {
      return validation(req, 'Invalid input JSON on line 1, column 1: Some required fields were not set: [inputs]');
    }
    if (body.inputs.length > ASSOCIATIONS_BATCH_READ_MAX_INPUTS) {
      return validation(req, `The maximum number of inputs supported in a batch request is ${ASSOCIATIONS_BATCH_READ_MAX_INPUTS}.`);
    }
    const results: unknown[] = [];
    const errors: unknown[] = [];
    const seen = new Set<string>();
    const typeId = associationTypeId(from, to);
    for (const input of body.inputs) {
      if (!isObject(input) || (typeof input.id !== 'string' && typeof input.id !== 'number')) {
        return validation(req, 'Invalid input JSON: every input needs an id');
      }
      const id = String(input.id);
      const after = input.after === undefined ? 0 : Number(input.after);
      if (!Number.isInteger(after) || after < 0) return validation(req, `Invalid after value: ${String(input.after)}`);
      const key = `${id}:${after}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const obj = store.get(from, id);
      const ids = obj && !obj.archived ? store.associated(from, id, to) : [];
      if (ids.length === 0) {
        errors.push({
          status: 'error',
          category: 'OBJECT_NOT_FOUND',
          subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
          message: `No ${to} is associated with ${OBJECT_TYPE_DEFS[from].singular} ${id}.`,
          context: { fromObjectId: [id] },
          errors: [],
          links: {},
        });
        continue;
      }
      const slice = ids.slice(after, after + ASSOCIATIONS_PAGE_SIZE);
      const result: Record<string, unknown> = {
        from: { id },
        // Observed responses carry toObjectId as a JSON number (the spec says string) and label null.
        to: slice.map((toId) => ({ toObjectId: Number(toId), associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId, label: null }] })),
      };
      if (after + ASSOCIATIONS_PAGE_SIZE < ids.length) result.paging = { next: { after: String(after + ASSOCIATIONS_PAGE_SIZE) } };
      results.push(result);
    }
    const completedAt = new Date().toISOString();
    if (errors.length === 0) return { status: 200, body: { status: 'COMPLETE', results, startedAt, completedAt } };
    return { status: 207, body: { status: 'COMPLETE', results, numErrors: errors.length, errors, startedAt, completedAt } };
  };

  const routes: EmulatorRoute[] = [
    { method: 'GET', path: '/crm/v3/objects/:objectType', operation: '{objectType}.list', handler: list },
    { method: 'POST', path: '/crm/v3/objects/:objectType/batch/read', operation: '{objectType}.batchRead', handler: batchRead },
    { method: 'POST', path: '/crm/v3/objects/:objectType/search', operation: '{objectType}.search', handler: search },
    { method: 'GET', path: '/crm/v3/objects/:objectType/:objectId', operation: '{objectType}.get', handler: getOne },
    {
      method: 'POST',
      path: '/crm/v4/associations/:fromObjectType/:toObjectType/batch/read',
      operation: 'associations.{fromObjectType}.{toObjectType}.batchRead',
      handler: associationsBatchRead,
    },
  ];

  const base = await startBaseEmulator({
    name: 'hubspot',
    routes,
    authenticate,
    errorBody,
    commonHeaders: (req) => ({
      'x-hubspot-correlation-id': correlationId(req),
      // CRM search answers carry no rate-limit headers.
      ...(isSearch(req) ? {} : rateHeaders(req)),
    }),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });

  return Object.assign(base, { store, portalId }) as HubSpotEmulatorHandle;
}

// Checked against the shared signature: every emulator's start function has this type.
const _typecheck: StartProviderEmulator = startEmulator;
void _typecheck;
