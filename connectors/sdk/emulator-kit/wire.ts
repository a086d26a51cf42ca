// The wire shapes every emulator shares: a request as routes see it, a reply, a route, a fault and a
// recorded call. Apart from ../emulator.ts so the kit's admin routes can use them without a cycle.
import type { IncomingMessage } from 'node:http';

export interface EmulatorRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  url: URL;
  query: URLSearchParams;
  /** Lower-cased names. */
  headers: IncomingMessage['headers'];
  rawBody: Buffer;
  params: Record<string, string>;
}

export interface EmulatorReply {
  status: number;
  headers?: Record<string, string>;
  /** Serialized as JSON unless it is a string (sent as-is). */
  body?: unknown;
}

export interface EmulatorRoute {
  method: string;
  /** Path pattern with :params, e.g. '/crm/v3/objects/:objectType/batch/read'. */
  path: string;
  /** Counter label, e.g. 'contacts.batchRead' (params may be used: '{objectType}.batchRead'). */
  operation: string;
  handler: (req: EmulatorRequest) => EmulatorReply | Promise<EmulatorReply>;
}

export type FaultKind = 'status' | 'timeout' | 'malformed' | 'reset' | 'latency';

export interface FaultSpec {
  kind: FaultKind;
  /** Only requests whose operation equals this, or whose path matches it as a regex source. */
  match?: string;
  /** For 'status': the HTTP status to answer (its body comes from the emulator's errorBody). */
  status?: number;
  /** For 'status' 429/503: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
  /** For 'latency': extra delay before the real answer. */
  latencyMs?: number;
  /** How many matching requests the fault applies to; default: every one until cleared. */
  times?: number;
}

export interface RecordedRequest {
  method: string;
  path: string;
  operation: string;
  /** 0 when the fault injected was a timeout or a reset (no answer). */
  status: number;
  at: number;
  /** The credential the call carried, as the provider reads it (tests tell tokens apart by it). */
  credential: string | null;
}

/**
 * Appends to an in-memory log, and past `limit` + 10 % drops the oldest down to `limit` (one splice
 * per tenth of the limit, not per push): an emulator left running (the demo) keeps bounded memory.
 */
export function pushBounded<T>(log: T[], item: T, limit: number): void {
  log.push(item);
  if (log.length > limit + Math.ceil(limit / 10)) log.splice(0, log.length - limit);
}
