// defineConnector(): a connector is checked when its module is imported, so a broken one fails
// the first test (and startup) with `manifest.<path>: <problem>` instead of misbehaving later.
import { coverageProblems } from './coverage.ts';
import { manifestSchema } from './manifest.ts';
import { ENTITY_TYPES } from './models.ts';
import type { Connector } from './types.ts';

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
  problems.push(...coverageProblems(connector.coverage, m.entities));
  for (const e of Object.keys(m.listOrders ?? {})) {
    if (!m.entities.includes(e as (typeof ENTITY_TYPES)[number]))
      problems.push(`manifest.listOrders.${e} is declared but manifest.entities does not list ${e}`);
  }
  // Declared budgets the shared budget cannot enforce yet are refused rather than silently ignored.
  const source = m.events?.source;
  if (source === undefined && connector.webhooks) problems.push('manifest.events is missing but the connector has webhooks: declare { source: "webhooks" }');
  if (source !== undefined && source !== 'polling' && !connector.webhooks)
    problems.push(`manifest.events.source is "${source}" but the connector has no webhooks (verify, toEvents)`);
  // Polling reads lists with updatedSince: every served entity needs a list (all loaders have one),
  // and deletions come from polling.deletedSince when the provider exposes them.
  if (connector.polling && source !== 'polling' && source !== 'both')
    problems.push('connector.polling is set but manifest.events.source is not "polling" or "both"');
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
