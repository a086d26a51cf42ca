// POST /crm/v4/associations/{from}/{to}/batch/read: associated ids per input with per-input paging,
// 207 with NO_ASSOCIATIONS_FOUND errors for inputs that have none. REFERENCE.md §1.
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { parseJsonBody, validationError } from './errors.ts';
import { associationTypeId, OBJECT_TYPE_DEFS, type ObjectType } from './schema.ts';
import { isObject, isReply, objectTypeOr400 } from './shape.ts';
import type { HubSpotStore } from './store.ts';

export const ASSOCIATIONS_BATCH_READ_MAX_INPUTS = 1000;
/** Associations returned per record in one v4 batch read page. */
const ASSOCIATIONS_PAGE_SIZE = 500;

function noAssociations(from: ObjectType, to: ObjectType, id: string) {
  return {
    status: 'error',
    category: 'OBJECT_NOT_FOUND',
    subCategory: 'crm.associations.NO_ASSOCIATIONS_FOUND',
    message: `No ${to} is associated with ${OBJECT_TYPE_DEFS[from].singular} ${id}.`,
    context: { fromObjectId: [id] },
    errors: [],
    links: {},
  };
}

function batchRead(store: HubSpotStore, req: EmulatorRequest): EmulatorReply {
  const startedAt = new Date().toISOString();
  const from = objectTypeOr400(req, req.params.fromObjectType);
  if (isReply(from)) return from;
  const to = objectTypeOr400(req, req.params.toObjectType);
  if (isReply(to)) return to;
  const parsed = parseJsonBody(req);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.value;
  if (!isObject(body) || !Array.isArray(body.inputs)) {
    return validationError(req, 'Invalid input JSON on line 1, column 1: Some required fields were not set: [inputs]');
  }
  if (body.inputs.length > ASSOCIATIONS_BATCH_READ_MAX_INPUTS) {
    return validationError(req, `The maximum number of inputs supported in a batch request is ${ASSOCIATIONS_BATCH_READ_MAX_INPUTS}.`);
  }
  const results: unknown[] = [];
  const errors: unknown[] = [];
  const seen = new Set<string>();
  const typeId = associationTypeId(from, to);
  for (const input of body.inputs) {
    if (!isObject(input) || (typeof input.id !== 'string' && typeof input.id !== 'number'))
      return validationError(req, 'Invalid input JSON: every input needs an id');
    const id = String(input.id);
    const after = input.after === undefined ? 0 : Number(input.after);
    if (!Number.isInteger(after) || after < 0) return validationError(req, `Invalid after value: ${String(input.after)}`);
    const key = `${id}:${after}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const obj = store.get(from, id);
    const ids = obj && !obj.archived ? store.associated(from, id, to) : [];
    if (ids.length === 0) {
      errors.push(noAssociations(from, to, id));
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
}

export function associationRoutes(store: HubSpotStore): EmulatorRoute[] {
  return [
    {
      method: 'POST',
      path: '/crm/v4/associations/:fromObjectType/:toObjectType/batch/read',
      operation: 'associations.{fromObjectType}.{toObjectType}.batchRead',
      handler: (req) => batchRead(store, req),
    },
  ];
}
