// Record mutations for tests and the demo: create, update and archive contacts, invoices and
// orders through the store (so each change is webhooked), with HubSpot's property rules
// (read-only timestamps, string values). Behind /__emulator/records and the handle's `mutate`.
import { EmulatorAdminError, type AdminRecords } from '../../sdk/emulator-kit/index.ts';
import { OBJECT_TYPE_DEFS, type ObjectType } from './schema.ts';
import { isObject, shapeRecord } from './shape.ts';
import type { HubSpotStore, PropertyInput, StoredObject } from './store.ts';

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

/** Programmatic twins of the /__emulator/records routes. They throw EmulatorAdminError. */
export interface HubSpotMutations {
  create(type: MutableType, input: CreateRecordInput): HubSpotRecord;
  update(type: MutableType, id: string, properties: PropertyValues): HubSpotRecord;
  archive(type: MutableType, id: string): void;
}

const bad = (message: string) => new EmulatorAdminError(400, message);

function mutableType(raw: string): MutableType {
  if ((MUTABLE_TYPES as readonly string[]).includes(raw)) return raw as MutableType;
  throw new EmulatorAdminError(404, `Unknown object type ${JSON.stringify(raw)}; the admin routes accept ${MUTABLE_TYPES.join(', ')}.`);
}

function propertyInput(type: ObjectType, raw: unknown): PropertyInput {
  if (!isObject(raw)) throw bad('properties must be an object of property name → value.');
  const def = OBJECT_TYPE_DEFS[type];
  const readOnly = new Set([def.createdProperty, def.modifiedProperty, 'hs_object_id']);
  const out: PropertyInput = {};
  for (const [name, value] of Object.entries(raw)) {
    if (!(name in def.properties)) throw bad(`Property "${name}" does not exist on ${type}.`);
    if (readOnly.has(name)) throw bad(`Property "${name}" is read-only.`);
    if (value === null || typeof value === 'string') out[name] = value;
    else if ((typeof value === 'number' && Number.isFinite(value)) || typeof value === 'boolean') out[name] = String(value);
    else throw bad(`Property "${name}" must be a string, number, boolean or null.`);
  }
  return out;
}

/** Ids of the live contacts an invoice or order is to be associated with. */
function contactIds(store: HubSpotStore, type: MutableType, assoc: unknown): string[] {
  if (assoc === undefined) return [];
  if (!isObject(assoc)) throw bad('associations must be an object {contacts?: [id]}.');
  for (const key of Object.keys(assoc)) if (key !== 'contacts') throw bad(`Unsupported association "${key}" (only contacts).`);
  if (assoc.contacts === undefined) return [];
  if (type === 'contacts') throw bad('Contacts cannot be associated with contacts here.');
  if (!Array.isArray(assoc.contacts)) throw bad('associations.contacts must be an array of contact ids.');
  return assoc.contacts.map((raw: unknown) => {
    const id = typeof raw === 'number' || typeof raw === 'string' ? String(raw) : '';
    const contact = store.get('contacts', id);
    if (!contact || contact.archived) throw bad(`associations.contacts: no contact with id ${JSON.stringify(raw)}.`);
    return id;
  });
}

export function hubspotMutations(store: HubSpotStore): HubSpotMutations {
  // Strictly increasing mutation times, so two changes of one record never share a version.
  let lastMutationMs = 0;
  const mutationTime = (): string => {
    lastMutationMs = Math.max(Date.now(), lastMutationMs + 1);
    return new Date(lastMutationMs).toISOString();
  };
  const liveRecord = (type: MutableType, id: string): StoredObject => {
    const obj = store.get(type, id);
    if (!obj || obj.archived) throw new EmulatorAdminError(404, `No ${OBJECT_TYPE_DEFS[type].singular} with id ${JSON.stringify(id)}.`);
    return obj;
  };
  return {
    create(rawType, input) {
      const type = mutableType(rawType);
      if (!isObject(input)) throw bad('Body must be an object {properties, associations?}.');
      const properties = propertyInput(type, input.properties);
      const contacts = contactIds(store, type, input.associations);
      const obj = store.create(type, properties, mutationTime());
      for (const contactId of contacts) store.associate(type, obj.id, 'contacts', contactId);
      return publicRecord(store, type, obj);
    },
    update(rawType, id, properties) {
      const type = mutableType(rawType);
      liveRecord(type, id);
      return publicRecord(store, type, store.update(type, id, propertyInput(type, properties), mutationTime()));
    },
    archive(rawType, id) {
      const type = mutableType(rawType);
      liveRecord(type, id);
      store.archive(type, id, mutationTime());
    },
  };
}

/** The answer shape: every property the record has, plus the always-present ones. */
function publicRecord(store: HubSpotStore, type: ObjectType, obj: StoredObject): HubSpotRecord {
  return shapeRecord(store, type, obj, Object.keys(obj.properties), null, null) as unknown as HubSpotRecord;
}

/** The admin API's records part: HubSpot bodies are {properties, associations?}; DELETE archives. */
export function recordsAdmin(store: HubSpotStore, mutate: HubSpotMutations): AdminRecords {
  return {
    create: (type, fields) => mutate.create(type as MutableType, fields as unknown as CreateRecordInput),
    update: (type, id, fields) => mutate.update(type as MutableType, id, fields.properties as PropertyValues),
    delete: (type, id) => {
      mutate.archive(type as MutableType, id);
      return publicRecord(store, type as MutableType, store.get(type as MutableType, id) as StoredObject);
    },
  };
}
