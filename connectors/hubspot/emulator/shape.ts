// How the emulator turns a stored record into HubSpot's SimplePublicObject (selected properties,
// property history, inline associations) and reads the query parameters every object route
// shares. Used by the object, search and admin routes so a record looks the same everywhere.
import type { EmulatorReply, EmulatorRequest } from '../../sdk/emulator.ts';
import { validationError } from './errors.ts';
import { associationLabel, OBJECT_TYPE_DEFS, resolveObjectType, type ObjectType } from './schema.ts';
import type { HubSpotStore, StoredObject } from './store.ts';

/** Associated ids embedded per record and type in v3 reads before `paging` says there are more (UNCONFIRMED). */
export const INLINE_ASSOCIATIONS_LIMIT = 100;

export const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
export const isReply = (v: unknown): v is EmulatorReply => isObject(v) && typeof v.status === 'number';
export const stringArray = (v: unknown): v is string[] => Array.isArray(v) && v.every((x) => typeof x === 'string');

/** Values of a multi-valued query parameter: repeated keys and/or comma lists. Null when absent. */
export function listParam(query: URLSearchParams, name: string): string[] | null {
  const raw = query.getAll(name);
  if (raw.length === 0) return null;
  return raw
    .flatMap((v) => v.split(','))
    .map((v) => v.trim())
    .filter((v) => v !== '');
}

export function objectTypeOr400(req: EmulatorRequest, raw: string | undefined): ObjectType | EmulatorReply {
  return resolveObjectType(raw ?? '') ?? validationError(req, `Unable to infer object type from: ${raw ?? ''}`);
}

export const archivedFlag = (req: EmulatorRequest): boolean => req.query.get('archived') === 'true';

export function associationsParam(req: EmulatorRequest): ObjectType[] | null {
  const names = listParam(req.query, 'associations');
  if (!names) return null;
  // Unknown association names are ignored (spec: "If any ... do not exist, they will be ignored").
  const types = names.map(resolveObjectType).filter((t): t is ObjectType => t !== null);
  return [...new Set(types)];
}

export function findByIdProperty(store: HubSpotStore, type: ObjectType, idProperty: string, value: string): StoredObject | undefined {
  const wanted = value.toLowerCase();
  return store.all(type).find((o) => (o.properties[idProperty] ?? '').toLowerCase() === wanted);
}

function selectProperties(type: ObjectType, obj: StoredObject, requested: string[] | null): Record<string, string | null> {
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
}

function withHistory(type: ObjectType, obj: StoredObject, names: string[]) {
  const def = OBJECT_TYPE_DEFS[type];
  const out: Record<string, Array<{ value: string; timestamp: string; sourceType: string }>> = {};
  for (const name of names) {
    if (!(name in def.properties)) continue;
    const value = obj.properties[name];
    out[name] = value === undefined ? [] : [{ value, timestamp: obj.updatedAt, sourceType: 'API' }];
  }
  return out;
}

function inlineAssociations(store: HubSpotStore, type: ObjectType, obj: StoredObject, associations: ObjectType[]): Record<string, unknown> {
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
  return assoc;
}

/** A record as HubSpot answers it, in HubSpot's key order. */
export function shapeRecord(
  store: HubSpotStore,
  type: ObjectType,
  obj: StoredObject,
  requested: string[] | null,
  history: string[] | null,
  associations: ObjectType[] | null,
): Record<string, unknown> {
  const out: Record<string, unknown> = { id: obj.id, properties: selectProperties(type, obj, requested) };
  if (history && history.length > 0) out.propertiesWithHistory = withHistory(type, obj, history);
  out.createdAt = obj.createdAt;
  out.updatedAt = obj.updatedAt;
  out.archived = obj.archived;
  if (obj.archivedAt) out.archivedAt = obj.archivedAt;
  if (associations && associations.length > 0) {
    const assoc = inlineAssociations(store, type, obj, associations);
    if (Object.keys(assoc).length > 0) out.associations = assoc;
  }
  return out;
}
