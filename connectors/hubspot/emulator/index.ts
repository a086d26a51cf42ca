// HubSpot CRM emulator: the v3 objects API (list, get, batch read, search) for contacts, invoices,
// orders and line items, plus the v4 associations batch read, answering with HubSpot's shapes,
// status codes, error bodies and rate-limit headers from a seeded, deterministic portal. Admin
// routes mutate records; every mutation is delivered as signed, batched HubSpot webhooks.
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
import type { HubSpotStore, PropertyInput, StoredObject } from './store.ts';
import {
  checkWebhookTarget,
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_DELIVERY_TIMEOUT_MS,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  WebhookSender,
  WebhookTargetError,
  type WebhookDelivery,
  type WebhookSenderState,
  type WebhookTargetInput,
} from './webhooks.ts';
import { HubSpotOAuth, type HubSpotOAuthOptions, type OAuthAdminInput } from './oauth.ts';

export { HubSpotStore } from './store.ts';
export type { PropertyChange, StoredObject, StoreChange } from './store.ts';
export { DEFAULT_SCALE, DEFAULT_SEED } from './seed.ts';
export {
  DEFAULT_BATCH_WINDOW_MS,
  DEFAULT_MAX_CONCURRENT_REQUESTS,
  DEFAULT_RETRY_DELAYS_MS,
  MAX_EVENTS_PER_REQUEST,
  NO_RETRY_STATUSES,
} from './webhooks.ts';
export { DEFAULT_ACCESS_TOKEN_TTL_SECONDS, DEFAULT_CODE_TTL_SECONDS, HubSpotOAuth, s256 } from './oauth.ts';
export type { GrantType, HubSpotOAuthClient, HubSpotOAuthOptions, OAuthAdminInput, OAuthGrantRecord } from './oauth.ts';
export type { HubSpotWebhookEvent, WebhookDelivery, WebhookSenderState, WebhookTargetInput } from './webhooks.ts';

export interface RateWindow {
  max: number;
  intervalMs: number;
}

export interface HubSpotEmulatorOptions extends ProviderEmulatorOptions {
  /** The shared option, plus HubSpot's per-target `maxConcurrentRequests`. */
  webhook?: WebhookTargetInput;
  /**
   * Burst limit per token. Default: HubSpot's private-app Professional limit, 190 per 10 s.
   * `rateLimitPerSecond` (the shared option) is used as { max: n, intervalMs: 1000 } when this is unset.
   */
  rateLimit?: RateWindow;
  /** CRM search's own limit per token (exempt from the burst limit). Default 5 per second; null = off. */
  searchRateLimit?: RateWindow | null;
  /** Daily requests per token. Default 625,000 (Professional). */
  dailyLimit?: number;
  /** Portal (hub) id reported by the emulator and carried by its webhook events. Default 62515. */
  portalId?: number;
  /** App id carried by webhook events. Default 54321 (HubSpot's documentation example). */
  appId?: number;
  /** Changes within this window are delivered in one POST (≤ 100 events). Default 50 ms. */
  webhookBatchWindowMs?: number;
  /** Parallel POSTs per target unless the target says (HubSpot's maxConcurrentRequests). Default 10. */
  webhookMaxConcurrentRequests?: number;
  /** A POST without an answer within this counts as failed and is retried. Default 5000 ms. */
  webhookTimeoutMs?: number;
  /**
   * First webhook eventId. Default: Date.now() × 1000, so a restarted emulator does not reuse
   * eventIds a receiver has already deduplicated.
   */
  firstEventId?: number;
  /**
   * OAuth apps the emulator's /oauth/authorize, /oauth/v1/token and /oauth/2026-03/token serve.
   * Access tokens they issue are accepted by the API (like `credentials`) until they expire.
   */
  oauth?: HubSpotOAuthOptions;
}

/** Object types the admin routes and `mutate` accept. */
export const MUTABLE_TYPES = ['contacts', 'invoices', 'orders'] as const;
export type MutableType = (typeof MUTABLE_TYPES)[number];

/** A record as the admin routes answer it (HubSpot's SimplePublicObject). */
export interface HubSpotRecord {
  id: string;
  properties: Record<string, string | null>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt?: string;
}

export type PropertyValues = Record<string, string | number | boolean | null>;

export interface CreateRecordInput {
  properties: PropertyValues;
  /** Contacts to associate an invoice or order with (ids of existing, unarchived contacts). */
  associations?: { contacts?: string[] };
}

/** An admin mutation the emulator refuses; `status` is what the admin route answers. */
export class EmulatorMutationError extends Error {
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

/** Programmatic twins of the /__emulator/records routes. They throw EmulatorMutationError. */
export interface HubSpotMutations {
  create(type: MutableType, input: CreateRecordInput): HubSpotRecord;
  update(type: MutableType, id: string, properties: PropertyValues): HubSpotRecord;
  archive(type: MutableType, id: string): void;
}

export interface HubSpotEmulatorHandle extends EmulatorHandle {
  /** The live data set; mutate it through its methods (changes made there are webhooked too). */
  readonly store: HubSpotStore;
  readonly portalId: number;
  readonly appId: number;
  readonly mutate: HubSpotMutations;
  /** Sets (or, with null, removes) the webhook target, like PUT / DELETE /__emulator/webhook. */
  setWebhook(target: WebhookTargetInput | null): void;
  /** Every webhook delivery attempt so far, oldest first. */
  deliveries(): WebhookDelivery[];
  /** Resolves once no webhook is buffered, queued, in flight or scheduled for a retry. */
  waitForIdle(): Promise<void>;
  /** Calls `listener` after every delivery attempt (retry already scheduled). Returns an unsubscribe. */
  onDelivery(listener: (delivery: WebhookDelivery) => void): () => void;
  /** Buffered / queued / in-flight / scheduled work and the timers held for it. */
  webhookState(): WebhookSenderState;
  /** OAuth state: token-endpoint calls (`grants()`, `successfulGrants('refresh_token')`), admin switches (`configure`). */
  readonly oauth: HubSpotOAuth;
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
  const appId = options.appId ?? 54321;
  // A bad start option fails here, before a server is listening.
  if (options.webhook) checkWebhookTarget(options.webhook);
  const credentials = new Set(options.credentials);
  const burstWindow =
    options.rateLimit ?? (options.rateLimitPerSecond ? { max: options.rateLimitPerSecond, intervalMs: 1000 } : DEFAULT_RATE_LIMIT);
  const searchWindow = options.searchRateLimit === undefined ? DEFAULT_SEARCH_RATE_LIMIT : options.searchRateLimit;
  const dailyLimit = options.dailyLimit ?? DEFAULT_DAILY_LIMIT;
  const tokens = new Map<string, TokenState>();
  const oauth = new HubSpotOAuth(options.oauth ?? (options.oauthClients ? { clients: options.oauthClients } : undefined), portalId, appId);
  const isOAuth = (req: EmulatorRequest) => req.path.startsWith('/oauth/');
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
    // The OAuth endpoints authenticate the client themselves and are not rate limited per token.
    if (isOAuth(req)) return null;
    const token = tokenOf(req);
    const issued = token && !credentials.has(token) ? oauth.checkAccessToken(token) : null;
    if (issued && !issued.ok && issued.reason === 'expired') {
      return {
        status: 401,
        headers: { 'x-hubspot-correlation-id': correlationId(req) },
        body: {
          status: 'error',
          message: `The OAuth token used to make this call expired ${issued.expiredMinutesAgo} minute(s) ago.`,
          correlationId: correlationId(req),
          category: 'EXPIRED_AUTHENTICATION',
        },
      };
    }
    if (!token || (!credentials.has(token) && !issued?.ok)) {
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
    ...oauth.routes(),
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

  // ---------------------------------------------------------------------------------------------
  // Mutations (admin routes, handle.mutate) and webhooks
  // ---------------------------------------------------------------------------------------------

  const sender = new WebhookSender({
    portalId,
    appId,
    batchWindowMs: options.webhookBatchWindowMs ?? DEFAULT_BATCH_WINDOW_MS,
    maxConcurrentRequests: options.webhookMaxConcurrentRequests ?? DEFAULT_MAX_CONCURRENT_REQUESTS,
    timeoutMs: options.webhookTimeoutMs ?? DEFAULT_DELIVERY_TIMEOUT_MS,
    firstEventId: options.firstEventId ?? Date.now() * 1000,
  });
  if (options.webhook) sender.setTarget(options.webhook);
  const unsubscribe = store.onChange((change) => sender.onStoreChange(change));

  // Strictly increasing mutation times, so two changes of one record never share a version.
  let lastMutationMs = 0;
  const mutationTime = (): string => {
    lastMutationMs = Math.max(Date.now(), lastMutationMs + 1);
    return new Date(lastMutationMs).toISOString();
  };

  const mutableType = (raw: string): MutableType => {
    const type = (MUTABLE_TYPES as readonly string[]).includes(raw) ? (raw as MutableType) : null;
    if (!type) throw new EmulatorMutationError(404, `Unknown object type ${JSON.stringify(raw)}; the admin routes accept ${MUTABLE_TYPES.join(', ')}.`);
    return type;
  };

  const propertyInput = (type: ObjectType, raw: unknown): PropertyInput => {
    if (!isObject(raw)) throw new EmulatorMutationError(400, 'properties must be an object of property name → value.');
    const def = OBJECT_TYPE_DEFS[type];
    const readOnly = new Set([def.createdProperty, def.modifiedProperty, 'hs_object_id']);
    const out: PropertyInput = {};
    for (const [name, value] of Object.entries(raw)) {
      if (!(name in def.properties)) throw new EmulatorMutationError(400, `Property "${name}" does not exist on ${type}.`);
      if (readOnly.has(name)) throw new EmulatorMutationError(400, `Property "${name}" is read-only.`);
      if (value === null || typeof value === 'string') out[name] = value;
      else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') out[name] = String(value);
      else throw new EmulatorMutationError(400, `Property "${name}" must be a string, number, boolean or null.`);
    }
    return out;
  };

  const liveRecord = (type: MutableType, id: string): StoredObject => {
    const obj = store.get(type, id);
    if (!obj || obj.archived) throw new EmulatorMutationError(404, `No ${OBJECT_TYPE_DEFS[type].singular} with id ${JSON.stringify(id)}.`);
    return obj;
  };

  /** The answer shape: every property the record has, plus the always-present ones. */
  const publicRecord = (type: MutableType, obj: StoredObject): HubSpotRecord =>
    shape(type, obj, Object.keys(obj.properties), null, null) as unknown as HubSpotRecord;

  const mutate: HubSpotMutations = {
    create(rawType, input) {
      const type = mutableType(rawType);
      if (!isObject(input)) throw new EmulatorMutationError(400, 'Body must be an object {properties, associations?}.');
      const properties = propertyInput(type, input.properties);
      const contactIds: string[] = [];
      if (input.associations !== undefined) {
        const assoc: unknown = input.associations;
        if (!isObject(assoc)) throw new EmulatorMutationError(400, 'associations must be an object {contacts?: [id]}.');
        for (const key of Object.keys(assoc)) if (key !== 'contacts') throw new EmulatorMutationError(400, `Unsupported association "${key}" (only contacts).`);
        if (assoc.contacts !== undefined) {
          if (type === 'contacts') throw new EmulatorMutationError(400, 'Contacts cannot be associated with contacts here.');
          if (!Array.isArray(assoc.contacts)) throw new EmulatorMutationError(400, 'associations.contacts must be an array of contact ids.');
          for (const raw of assoc.contacts) {
            const id = typeof raw === 'number' || typeof raw === 'string' ? String(raw) : '';
            const contact = store.get('contacts', id);
            if (!contact || contact.archived) throw new EmulatorMutationError(400, `associations.contacts: no contact with id ${JSON.stringify(raw)}.`);
            contactIds.push(id);
          }
        }
      }
      const obj = store.create(type, properties, mutationTime());
      for (const contactId of contactIds) store.associate(type, obj.id, 'contacts', contactId);
      return publicRecord(type, obj);
    },
    update(rawType, id, properties) {
      const type = mutableType(rawType);
      liveRecord(type, id);
      const input = propertyInput(type, properties);
      return publicRecord(type, store.update(type, id, input, mutationTime()));
    },
    archive(rawType, id) {
      const type = mutableType(rawType);
      liveRecord(type, id);
      store.archive(type, id, mutationTime());
    },
  };

  /** Runs an admin handler, answering HubSpot-style error bodies for refused input. */
  const adminReply = (req: EmulatorRequest, run: () => EmulatorReply): EmulatorReply => {
    try {
      return run();
    } catch (err) {
      if (err instanceof EmulatorMutationError) {
        return err.status === 404 ? error(req, 404, 'OBJECT_NOT_FOUND', err.message) : validation(req, err.message);
      }
      if (err instanceof WebhookTargetError) return validation(req, err.message);
      throw err;
    }
  };
  const jsonBody = (req: EmulatorRequest): unknown => {
    try {
      return JSON.parse(req.rawBody.toString('utf8'));
    } catch {
      throw new EmulatorMutationError(400, 'Body is not valid JSON.');
    }
  };

  const adminRoutes: EmulatorRoute[] = [
    {
      method: 'PUT',
      path: '/oauth',
      operation: 'admin.oauth.put',
      handler: (req) =>
        adminReply(req, () => {
          try {
            oauth.configure(jsonBody(req) as OAuthAdminInput);
          } catch (err) {
            if (err instanceof TypeError) throw new EmulatorMutationError(400, err.message);
            throw err;
          }
          return { status: 200, body: oauth.state() };
        }),
    },
    { method: 'GET', path: '/oauth', operation: 'admin.oauth.get', handler: () => ({ status: 200, body: { ...oauth.state(), grants: oauth.grants() } }) },
    {
      method: 'PUT',
      path: '/webhook',
      operation: 'admin.webhook.put',
      handler: (req) =>
        adminReply(req, () => {
          sender.setTarget(jsonBody(req) as WebhookTargetInput);
          return { status: 200, body: sender.describeTarget() };
        }),
    },
    {
      method: 'GET',
      path: '/webhook',
      operation: 'admin.webhook.get',
      handler: () => ({ status: 200, body: { target: sender.describeTarget(), state: sender.state(), deliveries: sender.deliveries() } }),
    },
    {
      method: 'DELETE',
      path: '/webhook',
      operation: 'admin.webhook.delete',
      handler: () => {
        sender.setTarget(null);
        return { status: 204 };
      },
    },
    {
      method: 'POST',
      path: '/records/:type',
      operation: 'admin.records.create',
      handler: (req) =>
        adminReply(req, () => {
          mutableType(req.params.type ?? '');
          return { status: 201, body: mutate.create(req.params.type as MutableType, jsonBody(req) as CreateRecordInput) };
        }),
    },
    {
      method: 'PATCH',
      path: '/records/:type/:id',
      operation: 'admin.records.update',
      handler: (req) =>
        adminReply(req, () => {
          const type = mutableType(req.params.type ?? '');
          const id = req.params.id ?? '';
          liveRecord(type, id);
          const body = jsonBody(req);
          if (!isObject(body)) throw new EmulatorMutationError(400, 'Body must be an object {properties}.');
          return { status: 200, body: mutate.update(type, id, body.properties as PropertyValues) };
        }),
    },
    {
      method: 'DELETE',
      path: '/records/:type/:id',
      operation: 'admin.records.archive',
      handler: (req) =>
        adminReply(req, () => {
          mutate.archive(mutableType(req.params.type ?? ''), req.params.id ?? '');
          return { status: 204 };
        }),
    },
  ];

  const base = await startBaseEmulator({
    name: 'hubspot',
    routes,
    adminRoutes,
    authenticate,
    errorBody,
    commonHeaders: (req) => ({
      'x-hubspot-correlation-id': correlationId(req),
      // CRM search and OAuth answers carry no rate-limit headers.
      ...(isSearch(req) || isOAuth(req) ? {} : rateHeaders(req)),
    }),
    ...(options.latencyMs !== undefined ? { latencyMs: options.latencyMs } : {}),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });

  const stopServer = base.stop;
  const handle: HubSpotEmulatorHandle = Object.assign(base, {
    store,
    portalId,
    appId,
    mutate,
    setWebhook: (target: WebhookTargetInput | null) => sender.setTarget(target),
    deliveries: () => sender.deliveries(),
    waitForIdle: () => sender.waitForIdle(),
    onDelivery: (listener: (delivery: WebhookDelivery) => void) => sender.onDelivery(listener),
    webhookState: () => sender.state(),
    oauth,
    async stop() {
      unsubscribe();
      // Retries and batch timers first, so nothing fires against a stopped emulator.
      await sender.stop();
      await stopServer();
    },
  });
  return handle;
}

// Checked against the shared signature: every emulator's start function has this type.
const _typecheck: StartProviderEmulator = startEmulator;
void _typecheck;
