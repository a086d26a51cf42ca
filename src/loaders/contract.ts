// What the gateway checks of a connector's answers before serving them (the loader contract in
// connectors/sdk/types.ts). A connector that breaks it gets an error worded like DataLoader's own
// misuse errors: what was expected, what arrived. Pinned by test/contract-violations.test.ts.
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { Connector, ListPage } from '../../connectors/sdk/types.ts';

function violation(connector: Connector, message: string): ConnectorError {
  return new ConnectorError('UPSTREAM_BAD_RESPONSE', `${connector.manifest.displayName} connector: ${message}`, { retryable: false });
}

/**
 * A batch method (`Contact.byIds`, `Invoice.lineItems`) answered one slot per key, in order, each a
 * model or a ConnectorError; else the error to report for every key.
 */
export function slotsViolation(connector: Connector, method: string, ids: readonly string[], slots: readonly unknown[]): ConnectorError | null {
  if (!Array.isArray(slots) || slots.length !== ids.length) {
    return violation(
      connector,
      `${method} must return one slot per id, in order (got ${Array.isArray(slots) ? slots.length : typeof slots} for ${ids.length})`,
    );
  }
  const empty = slots.findIndex((slot) => slot === null || slot === undefined);
  if (empty >= 0)
    return violation(connector, `${method} must return a model or a ConnectorError in every slot (slot ${empty} of ${ids.length} is ${String(slots[empty])})`);
  return null;
}

/** list answered at most `first` nodes, and a cursor whenever it says more follow. */
export function listViolation(connector: Connector, entity: string, first: number, page: ListPage<unknown>): ConnectorError | null {
  if (!page || !Array.isArray(page.nodes))
    return violation(connector, `${entity}.list must return { nodes, endCursor, hasNextPage } (got ${page === null ? 'null' : typeof page})`);
  if (page.nodes.length > first)
    return violation(connector, `${entity}.list must return at most \`first\` nodes (got ${page.nodes.length} for first: ${first})`);
  if (page.hasNextPage && typeof page.endCursor !== 'string')
    return violation(connector, `${entity}.list must return an endCursor when hasNextPage is true (got ${String(page.endCursor)})`);
  return null;
}
