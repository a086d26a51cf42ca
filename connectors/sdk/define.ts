import { z } from 'zod';
import { ENTITY_TYPES } from './models.ts';
import type { Connector } from './types.ts';

const entity = z.enum(ENTITY_TYPES);

const manifestSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'lower-case letters, digits and dashes, 2-32 chars'),
  displayName: z.string().min(1),
  auth: z.discriminatedUnion('type', [
    z.object({
      type: z.literal('oauth2'),
      authorizationUrl: z.url(),
      tokenUrl: z.url(),
      scopes: z.array(z.string()),
      staticTokenAllowed: z.boolean(),
    }),
    z.object({ type: z.literal('api_key'), header: z.string().min(1), scheme: z.enum(['Bearer', 'Basic', 'none']) }),
    z.object({ type: z.literal('basic') }),
  ]),
  defaultBaseUrl: z.url(),
  maxBatchSize: z.partialRecord(entity, z.number().int().min(1).max(10_000)),
  maxConcurrency: z.number().int().min(1).max(100),
  maxPageSize: z.number().int().min(1).max(10_000),
  entities: z.array(entity).min(1),
  rateLimits: z.object({ requests: z.number().int().positive(), windowMs: z.number().int().positive(), notes: z.string().optional() }),
  webhooks: z.object({
    scheme: z.enum(['hubspot-v3', 'stripe-v1', 'shopify-hmac', 'woocommerce-hmac', 'quickbooks-hmac', 'xero-hmac', 'none']),
    toleranceSeconds: z.number().int().positive().nullable(),
    signatureHeader: z.string().nullable(),
    timestampHeader: z.string().nullable(),
  }),
  remoteUrlTemplate: z.partialRecord(entity, z.string()).optional(),
});

/** Returns the problems with a manifest, one line each; empty when valid. */
export function validateManifest(connector: Connector): string[] {
  const problems: string[] = [];
  const parsed = manifestSchema.safeParse(connector.manifest);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(`manifest.${issue.path.join('.')}: ${issue.message}`);
    return problems;
  }
  const m = connector.manifest;
  for (const e of m.entities) {
    if (!connector.loaders[e]) problems.push(`manifest.entities lists ${e} but loaders.${e} is missing`);
    if (!m.maxBatchSize[e]) problems.push(`manifest.maxBatchSize.${e} is missing for served entity ${e}`);
  }
  for (const e of Object.keys(connector.loaders)) {
    if (!m.entities.includes(e as (typeof ENTITY_TYPES)[number])) problems.push(`loaders.${e} exists but manifest.entities does not list it`);
  }
  return problems;
}

/**
 * Declares a connector. Checks the manifest at import time so a broken connector fails the first
 * test (and startup) with a precise message instead of misbehaving at query time.
 */
export function defineConnector<C extends Connector>(connector: C): C {
  const problems = validateManifest(connector);
  if (problems.length > 0) {
    throw new Error(`connector "${String(connector.manifest?.id)}" is invalid:\n  ${problems.join('\n  ')}`);
  }
  return connector;
}
