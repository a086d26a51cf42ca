// The admin API every emulator serves under /__emulator (its wire contract is in ./index.ts), built
// once: the base server supplies the request log, faults and latency; a provider adds what it has
// (records, webhook target, OAuth switches, transient state to reset) as plain objects. Admin
// calls are never counted, faulted or rate limited, and answer the same statuses and the same
// error body ({error, message}) whatever the provider.
import type { EmulatorReply, EmulatorRequest, EmulatorRoute, FaultSpec, RecordedRequest } from './wire.ts';

export const ADMIN_PREFIX = '/__emulator';

/** A refused admin call: 400 (bad body, impossible change) or 404 (unknown type or id). */
export class EmulatorAdminError extends Error {
  override readonly name = 'EmulatorAdminError';
  constructor(
    readonly status: 400 | 404,
    message: string,
  ) {
    super(message);
  }
}

/** Record mutations in the provider's own shapes; they throw EmulatorAdminError to refuse. */
export interface AdminRecords {
  create(type: string, fields: Record<string, unknown>): unknown;
  update(type: string, id: string, fields: Record<string, unknown>): unknown;
  /** Returns the record as the provider shows it once deleted (archived / deleted stub). */
  delete(type: string, id: string): unknown;
}

export interface AdminWebhooks {
  /** Throws EmulatorAdminError(400) on a bad target; null removes it. */
  setTarget(input: unknown): void;
  describeTarget(): unknown;
  state(): unknown;
  deliveries(): unknown[];
}

export interface AdminOAuth {
  /** Throws TypeError or EmulatorAdminError on bad input (answered 400). */
  configure(input: never): void;
  state(): object;
  grants(): unknown[];
}

/** What a provider adds to the admin API; each part is optional. */
export interface ProviderAdmin {
  records?: AdminRecords;
  webhooks?: AdminWebhooks;
  oauth?: AdminOAuth;
  /** The provider's transient state (rate windows, logs), cleared by POST /__emulator/reset. */
  reset?: () => void;
}

/** The base server's part. */
export interface BaseAdmin {
  requests(): RecordedRequest[];
  resetRequests(): void;
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  /** Everything POST /__emulator/reset clears, the provider's part included. */
  reset(): void;
}

const FAULT_KINDS = ['status', 'timeout', 'malformed', 'reset', 'latency'];

const json = (status: number, body?: unknown): EmulatorReply =>
  body === undefined ? { status } : { status, headers: { 'content-type': 'application/json', 'cache-control': 'no-store' }, body };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** The JSON object body of an admin call; an empty body is {}. */
export function adminBody(req: EmulatorRequest): Record<string, unknown> {
  const text = req.rawBody.toString('utf8').trim();
  if (text === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new EmulatorAdminError(400, `Body is not valid JSON: ${(err as Error).message}`);
  }
  if (!isObject(parsed)) throw new EmulatorAdminError(400, 'The body must be a JSON object.');
  return parsed;
}

function faultSpec(body: Record<string, unknown>): FaultSpec {
  if (typeof body.kind !== 'string' || !FAULT_KINDS.includes(body.kind)) throw new EmulatorAdminError(400, `kind must be one of ${FAULT_KINDS.join(', ')}`);
  for (const k of ['status', 'retryAfterSeconds', 'latencyMs', 'times']) {
    const v = body[k];
    if (v !== undefined && (typeof v !== 'number' || !Number.isFinite(v) || v < 0)) throw new EmulatorAdminError(400, `${k} must be a number >= 0`);
  }
  if (body.match !== undefined && typeof body.match !== 'string') throw new EmulatorAdminError(400, 'match must be a string');
  return body as unknown as FaultSpec;
}

function baseRoutes(base: BaseAdmin): EmulatorRoute[] {
  return [
    {
      method: 'GET',
      path: '/requests',
      operation: 'admin.requests.get',
      handler: () => {
        const recorded = base.requests();
        const byOperation: Record<string, number> = {};
        for (const r of recorded) byOperation[r.operation] = (byOperation[r.operation] ?? 0) + 1;
        return json(200, { total: recorded.length, byOperation });
      },
    },
    { method: 'DELETE', path: '/requests', operation: 'admin.requests.delete', handler: () => (base.resetRequests(), json(204)) },
    {
      method: 'POST',
      path: '/faults',
      operation: 'admin.faults.create',
      handler: (req) => {
        const spec = faultSpec(adminBody(req));
        base.injectFault(spec);
        return json(201, spec);
      },
    },
    { method: 'DELETE', path: '/faults', operation: 'admin.faults.delete', handler: () => (base.clearFaults(), json(204)) },
    {
      method: 'PUT',
      path: '/latency',
      operation: 'admin.latency.put',
      handler: (req) => {
        const { ms } = adminBody(req);
        if (typeof ms !== 'number' || !Number.isFinite(ms) || ms < 0) throw new EmulatorAdminError(400, 'ms must be a number >= 0');
        base.setLatency(ms);
        return json(200, { ms });
      },
    },
    { method: 'POST', path: '/reset', operation: 'admin.reset', handler: () => (base.reset(), json(204)) },
  ];
}

function recordRoutes(records: AdminRecords): EmulatorRoute[] {
  const type = (req: EmulatorRequest) => req.params.type ?? '';
  const id = (req: EmulatorRequest) => req.params.id ?? '';
  return [
    { method: 'POST', path: '/records/:type', operation: 'admin.records.create', handler: (req) => json(201, records.create(type(req), adminBody(req))) },
    {
      method: 'PATCH',
      path: '/records/:type/:id',
      operation: 'admin.records.update',
      handler: (req) => json(200, records.update(type(req), id(req), adminBody(req))),
    },
    { method: 'DELETE', path: '/records/:type/:id', operation: 'admin.records.delete', handler: (req) => json(200, records.delete(type(req), id(req))) },
  ];
}

function webhookRoutes(webhooks: AdminWebhooks): EmulatorRoute[] {
  const view = () => ({ target: webhooks.describeTarget(), state: webhooks.state() });
  return [
    { method: 'GET', path: '/webhook', operation: 'admin.webhook.get', handler: () => json(200, { ...view(), deliveries: webhooks.deliveries() }) },
    { method: 'PUT', path: '/webhook', operation: 'admin.webhook.put', handler: (req) => (webhooks.setTarget(adminBody(req)), json(200, view())) },
    { method: 'DELETE', path: '/webhook', operation: 'admin.webhook.delete', handler: () => (webhooks.setTarget(null), json(204)) },
  ];
}

function oauthRoutes(oauth: AdminOAuth): EmulatorRoute[] {
  return [
    { method: 'GET', path: '/oauth', operation: 'admin.oauth.get', handler: () => json(200, { ...oauth.state(), grants: oauth.grants() }) },
    {
      method: 'PUT',
      path: '/oauth',
      operation: 'admin.oauth.put',
      handler: (req) => {
        try {
          oauth.configure(adminBody(req) as never);
        } catch (err) {
          // The grant books refuse bad switches with a TypeError.
          if (err instanceof TypeError) throw new EmulatorAdminError(400, err.message);
          throw err;
        }
        return json(200, oauth.state());
      },
    },
  ];
}

/** Every admin route of one emulator, paths without the /__emulator prefix. */
export function adminRoutes(base: BaseAdmin, provider: ProviderAdmin = {}): EmulatorRoute[] {
  return [
    ...baseRoutes(base),
    ...(provider.records ? recordRoutes(provider.records) : []),
    ...(provider.webhooks ? webhookRoutes(provider.webhooks) : []),
    ...(provider.oauth ? oauthRoutes(provider.oauth) : []),
  ];
}

/** Runs an admin handler; refusals become 400/404 with the one admin error body. */
export async function runAdmin(handler: EmulatorRoute['handler'], req: EmulatorRequest): Promise<EmulatorReply> {
  try {
    return await handler(req);
  } catch (err) {
    if (err instanceof EmulatorAdminError) return adminError(err.status, err.message);
    throw err;
  }
}

export function adminError(status: 400 | 404 | 405, message: string): EmulatorReply {
  const error = status === 400 ? 'bad_request' : status === 404 ? 'not_found' : 'method_not_allowed';
  return json(status, { error, message });
}
