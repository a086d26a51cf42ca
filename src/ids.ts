// Global ids: base64url of "<Type>:<connectionId>:<remoteId>". Opaque to clients, stable across
// requests and replicas, and decodable without a lookup. The connection id inside is checked
// against the caller's tenant on every use, so an id from another tenant resolves to nothing.
import { ENTITY_TYPES, type EntityType } from '../connectors/sdk/models.ts';

export interface DecodedId {
  type: EntityType;
  connectionId: string;
  remoteId: string;
}

export function encodeId(type: EntityType, connectionId: string, remoteId: string): string {
  return Buffer.from(`${type}:${connectionId}:${remoteId}`, 'utf8').toString('base64url');
}

/** Null when the text is not an id this gateway issued. */
export function decodeId(id: string): DecodedId | null {
  if (!/^[A-Za-z0-9_-]+$/.test(id)) return null;
  const text = Buffer.from(id, 'base64url').toString('utf8');
  const first = text.indexOf(':');
  const second = text.indexOf(':', first + 1);
  if (first < 0 || second < 0) return null;
  const type = text.slice(0, first);
  const connectionId = text.slice(first + 1, second);
  const remoteId = text.slice(second + 1);
  if (!(ENTITY_TYPES as readonly string[]).includes(type) || !connectionId || !remoteId) return null;
  return { type: type as EntityType, connectionId, remoteId };
}
