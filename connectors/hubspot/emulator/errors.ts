// HubSpot's error bodies for the emulator: the generic {status:'error', message, correlationId,
// category} shape, the 429 body with its policyName, and one correlation id per request (the
// same in the body and the X-HubSpot-Correlation-Id header). See REFERENCE.md §1 Errors.
import { randomUUID } from 'node:crypto';
import type { EmulatorReply, EmulatorRequest } from '../../sdk/emulator.ts';

const correlationIds = new WeakMap<EmulatorRequest, string>();

/** The request's correlation id, made on first use. */
export function correlationId(req: EmulatorRequest): string {
  let id = correlationIds.get(req);
  if (!id) {
    id = randomUUID();
    correlationIds.set(req, id);
  }
  return id;
}

export function hubspotError(req: EmulatorRequest, status: number, category: string, message: string, extra: Record<string, unknown> = {}): EmulatorReply {
  return { status, body: { status: 'error', message, correlationId: correlationId(req), category, ...extra } };
}

export function validationError(req: EmulatorRequest, message: string, extra: Record<string, unknown> = {}): EmulatorReply {
  return hubspotError(req, 400, 'VALIDATION_ERROR', message, extra);
}

/** HubSpot's names of its rate windows, as policyName in 429 bodies. */
export type RatePolicy = 'TEN_SECONDLY_ROLLING' | 'SECONDLY' | 'DAILY';

const RATE_MESSAGES: Record<RatePolicy, string> = {
  TEN_SECONDLY_ROLLING: 'You have reached your ten_secondly_rolling limit.',
  SECONDLY: 'You have reached your secondly limit.',
  DAILY: 'You have reached your daily limit.',
};

export function rateLimitBody(req: EmulatorRequest, policyName: RatePolicy): Record<string, unknown> {
  return {
    status: 'error',
    message: RATE_MESSAGES[policyName],
    errorType: 'RATE_LIMIT',
    correlationId: correlationId(req),
    policyName,
    requestId: randomUUID(),
  };
}

const CATEGORIES: Record<number, string> = {
  400: 'VALIDATION_ERROR',
  401: 'INVALID_AUTHENTICATION',
  403: 'MISSING_SCOPES',
  404: 'OBJECT_NOT_FOUND',
  409: 'CONFLICT',
};

/** The body of an injected fault or an unmatched route, by status. */
export function errorBodyFor(status: number, message: string, req: EmulatorRequest): unknown {
  if (status === 429) return rateLimitBody(req, 'TEN_SECONDLY_ROLLING');
  const category = CATEGORIES[status] ?? (status >= 500 ? 'INTERNAL_ERROR' : 'VALIDATION_ERROR');
  return { status: 'error', message, correlationId: correlationId(req), category };
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A JSON request body, or HubSpot's 400 for one that does not parse. */
export function parseJsonBody(req: EmulatorRequest): { ok: true; value: unknown } | { ok: false; reply: EmulatorReply } {
  try {
    return { ok: true, value: JSON.parse(req.rawBody.toString('utf8')) };
  } catch (err) {
    return { ok: false, reply: validationError(req, `Invalid input JSON on line 1: ${(err as Error).message}`) };
  }
}

/** A JSON object request body, or HubSpot's 400. */
export function parseObjectBody(req: EmulatorRequest): { ok: true; value: Record<string, unknown> } | { ok: false; reply: EmulatorReply } {
  const parsed = parseJsonBody(req);
  if (!parsed.ok) return parsed;
  return isObject(parsed.value) ? { ok: true, value: parsed.value } : { ok: false, reply: validationError(req, 'Invalid input JSON: expected an object') };
}
