// The emulator's records: one ordered map per object type plus symmetric associations. Every
// mutation goes through the methods here (seed, admin routes, test helpers; webhooks observe them), so the
// invariants (numeric ids in creation order, string-or-null property values, modification
// timestamps kept in step with the top-level updatedAt) hold in one place.
import { OBJECT_TYPE_DEFS, OBJECT_TYPES, type ObjectType } from './schema.ts';

export interface StoredObject {
  id: string;
  /** Every value is a string, as HubSpot stores and returns them; absent = never set. */
  properties: Record<string, string>;
  createdAt: string;
  updatedAt: string;
  archived: boolean;
  archivedAt: string | null;
}

export type PropertyInput = Record<string, string | number | null | undefined>;

/** A property whose stored value an update changed; `value` null = cleared. */
export interface PropertyChange {
  name: string;
  value: string | null;
}

export type StoreChange =
  | { kind: 'created' | 'archived'; objectType: ObjectType; id: string; at: string }
  /** `changed`: properties whose value differs afterwards, in input order (never the modification timestamp). */
  | { kind: 'updated'; objectType: ObjectType; id: string; at: string; changed: PropertyChange[] }
  | { kind: 'associated'; from: ObjectType; fromId: string; to: ObjectType; toId: string; at: string };

export class HubSpotStore {
  private readonly objects = new Map<ObjectType, Map<string, StoredObject>>();
  /** key `${from}->${to}` → from id → ordered to ids. Both directions are kept. */
  private readonly links = new Map<string, Map<string, string[]>>();
  private readonly nextIds = new Map<ObjectType, number>();
  private readonly listeners = new Set<(change: StoreChange) => void>();

  constructor(firstIds: Record<ObjectType, number>) {
    for (const type of OBJECT_TYPES) {
      this.objects.set(type, new Map());
      this.nextIds.set(type, firstIds[type]);
    }
  }

  /** Observe mutations (the emulator's webhook sender subscribes here). Returns an unsubscribe. */
  onChange(listener: (change: StoreChange) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(change: StoreChange): void {
    for (const l of this.listeners) l(change);
  }

  private table(type: ObjectType): Map<string, StoredObject> {
    const t = this.objects.get(type);
    if (!t) throw new Error(`unknown object type ${type}`);
    return t;
  }

  get(type: ObjectType, id: string): StoredObject | undefined {
    return this.table(type).get(id);
  }

  /** All records of a type in id order (creation order), archived ones included. */
  all(type: ObjectType): StoredObject[] {
    return [...this.table(type).values()];
  }

  count(type: ObjectType): number {
    return this.table(type).size;
  }

  /** Creates a record; `idStep` lets the seed leave gaps like real portals have. */
  create(type: ObjectType, input: PropertyInput, at: string, idStep = 1): StoredObject {
    const next = this.nextIds.get(type) ?? 1;
    const id = String(next);
    this.nextIds.set(type, next + Math.max(1, idStep));
    const def = OBJECT_TYPE_DEFS[type];
    const obj: StoredObject = {
      id,
      properties: {},
      createdAt: at,
      updatedAt: at,
      archived: false,
      archivedAt: null,
    };
    applyProperties(obj, input);
    obj.properties[def.createdProperty] = at;
    obj.properties[def.modifiedProperty] = at;
    obj.properties['hs_object_id'] = id;
    this.table(type).set(id, obj);
    this.emit({ kind: 'created', objectType: type, id, at });
    return obj;
  }

  /** Sets (or, with null, clears) properties and bumps the modification timestamps. */
  update(type: ObjectType, id: string, input: PropertyInput, at: string): StoredObject {
    const obj = this.get(type, id);
    if (!obj) throw new Error(`${type} ${id} does not exist`);
    const before = { ...obj.properties };
    applyProperties(obj, input);
    this.touch(type, obj, at);
    const automatic = new Set([OBJECT_TYPE_DEFS[type].modifiedProperty, OBJECT_TYPE_DEFS[type].createdProperty, 'hs_object_id']);
    const changed: PropertyChange[] = [];
    for (const name of Object.keys(input)) {
      if (automatic.has(name)) continue;
      const value = obj.properties[name] ?? null;
      if ((before[name] ?? null) !== value) changed.push({ name, value });
    }
    this.emit({ kind: 'updated', objectType: type, id, at, changed });
    return obj;
  }

  archive(type: ObjectType, id: string, at: string): StoredObject {
    const obj = this.get(type, id);
    if (!obj) throw new Error(`${type} ${id} does not exist`);
    obj.archived = true;
    obj.archivedAt = at;
    this.touch(type, obj, at);
    this.emit({ kind: 'archived', objectType: type, id, at });
    return obj;
  }

  associate(from: ObjectType, fromId: string, to: ObjectType, toId: string, at?: string): void {
    this.link(from, fromId, to, toId);
    this.link(to, toId, from, fromId);
    if (at) this.emit({ kind: 'associated', from, fromId, to, toId, at });
  }

  /** Associated ids of `to` for one record, in association order. */
  associated(from: ObjectType, fromId: string, to: ObjectType): string[] {
    return this.links.get(`${from}->${to}`)?.get(fromId)?.slice() ?? [];
  }

  private link(from: ObjectType, fromId: string, to: ObjectType, toId: string): void {
    const key = `${from}->${to}`;
    let byId = this.links.get(key);
    if (!byId) {
      byId = new Map();
      this.links.set(key, byId);
    }
    const list = byId.get(fromId) ?? [];
    if (!list.includes(toId)) list.push(toId);
    byId.set(fromId, list);
  }

  private touch(type: ObjectType, obj: StoredObject, at: string): void {
    obj.updatedAt = at;
    obj.properties[OBJECT_TYPE_DEFS[type].modifiedProperty] = at;
  }
}

function applyProperties(obj: StoredObject, input: PropertyInput): void {
  for (const [name, value] of Object.entries(input)) {
    if (value === undefined) continue;
    if (value === null || value === '') delete obj.properties[name];
    else obj.properties[name] = String(value);
  }
}
