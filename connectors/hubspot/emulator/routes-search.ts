// POST /crm/v3/objects/{type}/search: body validation and paging with HubSpot's limits; the
// filter semantics live in search.ts. Search has its own rate window (see rate-limits.ts).
import type { EmulatorReply, EmulatorRequest, EmulatorRoute } from '../../sdk/emulator.ts';
import { parseObjectBody, validationError } from './errors.ts';
import { LIST_DEFAULT_LIMIT } from './routes-objects.ts';
import { parseFilterGroups, parseSorts, runSearch, SEARCH_LIMITS, SearchValidationError } from './search.ts';
import { isReply, objectTypeOr400, shapeRecord, stringArray } from './shape.ts';
import type { HubSpotStore, StoredObject } from './store.ts';

/** Whether a request is a CRM search (limited and answered differently: no rate-limit headers). */
export const isSearchRequest = (req: EmulatorRequest): boolean => req.method === 'POST' && /^\/crm\/v3\/objects\/[^/]+\/search\/?$/.test(req.path);

/** limit and the numeric `after` offset, or HubSpot's 400. */
function paging(req: EmulatorRequest, body: Record<string, unknown>): { limit: number; offset: number } | EmulatorReply {
  const limit = body.limit === undefined ? LIST_DEFAULT_LIMIT : Number(body.limit);
  if (!Number.isInteger(limit) || limit < 0 || limit > SEARCH_LIMITS.maxLimit) {
    return validationError(req, `limit must be between 0 and ${SEARCH_LIMITS.maxLimit}`, {
      errors: [{ message: `limit must be <= ${SEARCH_LIMITS.maxLimit}`, in: 'limit' }],
    });
  }
  const rawAfter = body.after === undefined || body.after === null || body.after === '' ? '0' : String(body.after);
  if (!/^\d+$/.test(rawAfter)) return validationError(req, `Invalid after value: ${rawAfter}`);
  const offset = Number(rawAfter);
  if (offset + limit > SEARCH_LIMITS.maxResults) return validationError(req, `Paging beyond ${SEARCH_LIMITS.maxResults} results is not supported by search.`);
  return { limit, offset };
}

function search(store: HubSpotStore, req: EmulatorRequest): EmulatorReply {
  const type = objectTypeOr400(req, req.params.objectType);
  if (isReply(type)) return type;
  const parsed = parseObjectBody(req);
  if (!parsed.ok) return parsed.reply;
  const body = parsed.value;
  const page = paging(req, body);
  if (isReply(page)) return page;
  if (body.query !== undefined && (typeof body.query !== 'string' || body.query.length > SEARCH_LIMITS.maxQueryLength)) {
    return validationError(req, `query must be a string of at most ${SEARCH_LIMITS.maxQueryLength} characters`);
  }
  if (body.properties !== undefined && !stringArray(body.properties)) return validationError(req, 'properties must be an array of strings');
  let hits: StoredObject[];
  try {
    hits = runSearch(store, type, {
      groups: parseFilterGroups(body.filterGroups),
      sorts: parseSorts(body.sorts),
      query: typeof body.query === 'string' && body.query.trim() !== '' ? body.query : null,
    });
  } catch (err) {
    if (err instanceof SearchValidationError) return validationError(req, err.message, err.field ? { errors: [{ message: err.message, in: err.field }] } : {});
    throw err;
  }
  const { limit, offset } = page;
  const requested = body.properties === undefined ? null : (body.properties as string[]);
  const out: Record<string, unknown> = {
    total: hits.length,
    results: hits.slice(offset, offset + limit).map((o) => shapeRecord(store, type, o, requested, null, null)),
  };
  if (offset + limit < hits.length && limit > 0) out.paging = { next: { after: String(offset + limit) } };
  return { status: 200, body: out };
}

export function searchRoutes(store: HubSpotStore): EmulatorRoute[] {
  return [{ method: 'POST', path: '/crm/v3/objects/:objectType/search', operation: '{objectType}.search', handler: (req) => search(store, req) }];
}
