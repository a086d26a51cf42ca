import { z } from 'zod';
import { ENTITY_TYPES } from './models.ts';
import type { Connector } from './types.ts';

const entity = z.enum(ENTITY_TYPES);

const manifestSchema = z.object({
  id: z.string().regex(/^[a-z][a-z0-9-]{1,31}$/, 'lower-case letters, digits and dashes, 2-32 chars'),
  displayName: z.string().min(1),
  auth: z
    .object({
      oauth2: z
        .object({
          authorizationUrl: z.string().regex(/^https:\/\/\S+$/, 'an https URL (may hold {param} placeholders)'),
          tokenUrl: z.string().regex(/^https:\/\/\S+$/, 'an https URL (may hold {param} placeholders)'),
          revocation: z.discriminatedUnion('type', [
            z.object({ type: z.enum(['rfc7009', 'hubspot-refresh-token', 'stripe-deauthorize']), url: z.url() }),
            z.object({ type: z.literal('none') }),
          ]),
          scopes: z.array(z.string().min(1)),
          scopeSeparator: z.enum([' ', ',']),
          pkce: z.boolean(),
          clientAuth: z.enum(['client_secret_post', 'client_secret_basic']),
          grants: z.array(z.enum(['authorization_code', 'client_credentials'])).min(1),
          refreshTokenRotation: z.enum(['never', 'optional', 'always']),
          connectParams: z.array(z.object({ name: z.string().regex(/^[a-z][a-zA-Z0-9_]{0,31}$/), pattern: z.string().min(1), description: z.string().min(1) })).optional(),
          settingsFromTokenResponse: z.record(z.string(), z.string()).optional(),
          baseUrlFromTokenResponse: z.object({ field: z.string().min(1), hostPattern: z.string().min(1) }).optional(),
          authorizeParams: z.record(z.string(), z.string()).optional(),
        })
        .optional(),
      apiKey: z.object({ label: z.string().min(1), pattern: z.string().optional() }).optional(),
      basic: z.object({ label: z.string().min(1) }).optional(),
    })
    .refine((a) => a.oauth2 || a.apiKey || a.basic, 'at least one auth mode (oauth2, apiKey, basic)'),
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
