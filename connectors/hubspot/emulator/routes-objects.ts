// The v3 objects reads: list (cursor paging), get one (by id or idProperty) and batch read (200 or
// 207 with per-id errors), with HubSpot's limits, parameters and error bodies. REFERENCE.md §1.
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { hubspotError, parseObjectBody, validationError } from './errors.ts';
import { OBJECT_TYPE_DEFS } from './schema.ts';
import { archivedFlag, associationsParam, findByIdProperty, isObject, isReply, listParam, objectTypeOr400, shapeRecord, stringArray } from './shape.ts';
import type { HubSpotStore, StoredObject } from './store.ts';

export const BATCH_READ_MAX_INPUTS = 100;
export const BATCH_READ_MAX_INPUTS_WITH_HISTORY = 50;
export const LIST_DEFAULT_LIMIT = 10;
export const LIST_MAX_LIMIT = 100;

function list(store: HubSpotStore, req: EmulatorRequest): EmulatorReply {
  const type = objectTypeOr400(req, req.params.objectType);
  if (isReply(type)) return type;
  const rawLimit = req.query.get('limit');
  const limit = rawLimit === null ? LIST_DEFAULT_LIMIT : Number(rawLimit);
  if (!Number.isInteger(limit) || limit < 1 || limit > LIST_MAX_LIMIT) {
    return validationError(req, `limit must be an integer between 1 and ${LIST_MAX_LIMIT}, got ${rawLimit ?? ''}`, {
      errors: [{ message: `limit must be between 1 and ${LIST_MAX_LIMIT}`, in: 'limit' }],
    });
  }
  const after = req.query.get('after');
  if (after !== null && !/^\d+$/.test(after)) {
    return validationError(req, `Invalid after value: ${after}`, {
      errors: [{ message: 'after must be a paging cursor returned by a previous page', in: 'after' }],
    });
  }
  const archived = archivedFlag(req);
  const matching = store.all(type).filter((o) => o.archived === archived && (after === null || Number(o.id) >= Number(after)));
  const page = matching.slice(0, limit);
  const next = matching[limit];
  const requested = listParam(req.query, 'properties');
  const history = listParam(req.query, 'propertiesWithHistory');
  const associations = associationsParam(req);
  const body: Record<string, unknown> = { results: page.map((o) => shapeRecord(store, type, o, requested, history, associations)) };
  if (next) {
    const params = new URLSearchParams(req.query);
    params.set('after', next.id);
    const host = typeof req.headers.host === 'string' ? req.headers.host : 'api.hubapi.com';
    body.paging = { next: { after: next.id, link: `http://${host}${req.path}?${params.toString()}` } };
  }
  return { status: 200, body };
}

function getOne(store: HubSpotStore, req: EmulatorRequest): EmulatorReply {
  const type = objectTypeOr400(req, req.params.objectType);
  if (isReply(type)) return type;
  const rawId = req.params.objectId ?? '';
  const idProperty = req.query.get('idProperty');
  const obj = idProperty ? findByIdProperty(store, type, idProperty, rawId) : store.get(type, rawId);
  if (!obj || obj.archived !== archivedFlag(req)) return hubspotError(req, 404, 'OBJECT_NOT_FOUND', 'resource not found');
  return {
    status: 200,
    body: shapeRecord(store, type, obj, listParam(req.query, 'properties'), listParam(req.query, 'propertiesWithHistory'), associationsParam(req)),
  };
}

/** The body's input ids, or HubSpot's 400 for a body that breaks the batch-read schema or limits. */
function batchInputs(req: EmulatorRequest, body: Record<string, unknown>): string[] | EmulatorReply {
  const missing = ['inputs', 'properties', 'propertiesWithHistory'].filter((k) => body[k] === undefined);
  if (missing.length > 0) {
    return validationError(req, `Invalid input JSON on line 1, column 1: Some required fields were not set: [${missing.join(', ')}]`);
  }
  if (!Array.isArray(body.inputs) || !stringArray(body.properties) || !stringArray(body.propertiesWithHistory)) {
    return validationError(req, 'Invalid input JSON: inputs must be an array of {id}, properties and propertiesWithHistory arrays of strings');
  }
  const inputs = body.inputs;
  if (inputs.length > BATCH_READ_MAX_INPUTS) {
    return validationError(req, `The maximum number of inputs supported in a batch request is ${BATCH_READ_MAX_INPUTS}.`, {
      context: { inputs: [String(inputs.length)] },
    });
  }
  if (body.propertiesWithHistory.length > 0 && inputs.length > BATCH_READ_MAX_INPUTS_WITH_HISTORY) {
    return validationError(req, `The maximum number of inputs supported in a batch request for property histories is ${BATCH_READ_MAX_INPUTS_WITH_HISTORY}.`);
  }
  const ids: string[] = [];
  for (const input of inputs) {
    if (!isObject(input) || (typeof input.id !== 'string' && typeof input.id !== 'number'))
      return validationError(req, 'Invalid input JSON: every input needs an id');
    ids.push(String(input.id));
  }
  return ids;
}

function batchRead(store: HubSpotStore, req: EmulatorRequest): EmulatorReply {
  const startedAt = new Date().toISOString();
  const type = objectTypeOr400(req, req.params.objectType);
  if (isReply(type)) return type;
  const parsed = parseObjectBody(req);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.value;
  const ids = batchInputs(req, body);
  if (isReply(ids)) return ids;
  const idProperty = typeof body.idProperty === 'string' && body.idProperty !== '' ? body.idProperty : null;
  const archived = archivedFlag(req);
  const found = new Map<string, StoredObject>();
  const notFound: string[] = [];
  for (const id of ids) {
    const obj = idProperty ? findByIdProperty(store, type, idProperty, id) : store.get(type, id);
    if (obj && obj.archived === archived) found.set(obj.id, obj);
    else if (!notFound.includes(id)) notFound.push(id);
  }
  // HubSpot does not promise input order; answer in id order so clients must not rely on it.
  const results = [...found.values()]
    .sort((a, b) => Number(a.id) - Number(b.id))
    .map((o) => shapeRecord(store, type, o, body.properties as string[], body.propertiesWithHistory as string[], null));
  const completedAt = new Date().toISOString();
  if (notFound.length === 0) return { status: 200, body: { status: 'COMPLETE', results, startedAt, completedAt } };
  const error = {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    message: `Could not get some ${OBJECT_TYPE_DEFS[type].errorName} objects, they may be deleted or not exist. Check that ids are valid.`,
    context: { ids: notFound },
    errors: [],
    links: {},
  };
  return { status: 207, body: { status: 'COMPLETE', results, numErrors: 1, errors: [error], startedAt, completedAt } };
}

export function objectRoutes(store: HubSpotStore): EmulatorRoute[] {
  return [
    { method: 'GET', path: '/crm/v3/objects/:objectType', operation: '{objectType}.list', handler: (req) => list(store, req) },
    { method: 'POST', path: '/crm/v3/objects/:objectType/batch/read', operation: '{objectType}.batchRead', handler: (req) => batchRead(store, req) },
    { method: 'GET', path: '/crm/v3/objects/:objectType/:objectId', operation: '{objectType}.get', handler: (req) => getOne(store, req) },
  ];
}
