// Contacts by e-mail, per connection, for the identity layer (Person). Resolving a person costs
// one e-mail lookup per connection, and every person a request resolves in one tick shares it:
// a DataLoader per (request, connection) collects the addresses, the cache answers what it can,
// and the rest goes to the connector in one call where it can take many addresses
// (findByEmails: HubSpot search `IN`), else one `list` page with the e-mail filter per address
// (Stripe `email=`, WooCommerce `email=`, QuickBooks/Salesforce queries, Xero searchTerm, Shopify
// search). Answers are cached as list pages of the connection's contacts, so the change events
// that start a new list generation (entity-cache.ts) invalidate them like any other page.
import { createHash } from 'node:crypto';
import DataLoader from 'dataloader';
import type { GraphQLError } from 'graphql';
import { ConnectorError } from '../../connectors/sdk/errors.ts';
import type { ContactModel } from '../../connectors/sdk/models.ts';
import type { RequestContext } from '../context.ts';
import { toPublicError } from '../errors.ts';
import { emailsOf } from '../identity/match.ts';
import type { ServedContact } from '../models.ts';
import { logUpstreamFailure, type ConnectionHandle } from './request-loaders.ts';

/** Contacts one address may match in one connection before the rest are left out (one page). */
export const MATCHES_PER_EMAIL = 50;

const perRequest = new WeakMap<RequestContext, Map<string, DataLoader<string, ServedContact[] | GraphQLError>>>();

const fingerprintOf = (email: string) => createHash('sha256').update(`identity-email\u0000${email}`).digest('base64url');

/** The connection's contacts whose e-mail is exactly `email` (normalized), or the connection's error. */
export function contactsByEmail(rc: RequestContext, handle: ConnectionHandle, email: string): Promise<ServedContact[] | GraphQLError> {
  let loaders = perRequest.get(rc);
  if (!loaders) perRequest.set(rc, (loaders = new Map()));
  let loader = loaders.get(handle.config.id);
  if (!loader) {
    loader = new DataLoader<string, ServedContact[] | GraphQLError>((emails) => lookup(rc, handle, emails), { maxBatchSize: 1_000 });
    loaders.set(handle.config.id, loader);
  }
  return loader.load(email);
}

async function lookup(rc: RequestContext, handle: ConnectionHandle, emails: readonly string[]): Promise<Array<ServedContact[] | GraphQLError>> {
  const scope = { tenantId: rc.tenant.id, connectionId: handle.config.id };
  const records = rc.loaders.loader(handle, 'Contact');
  const cached = await Promise.all(emails.map((e) => rc.services.cache.getPage(scope, 'Contact', fingerprintOf(e))));
  const out = new Map<string, ServedContact[] | GraphQLError>();
  await Promise.all(
    emails.map(async (e, i) => {
      const page = cached[i]!.page;
      if (!page) return;
      const loaded = await records.loadMany(page.remoteIds);
      // A record gone since (deleted upstream) drops out; any other failure asks the provider again.
      if (loaded.every((n) => !(n instanceof Error) || (n as GraphQLError).extensions?.code === 'UPSTREAM_NOT_FOUND'))
        out.set(
          e,
          loaded.filter((n): n is ServedContact => !(n instanceof Error)),
        );
    }),
  );
  const misses = emails.filter((e) => !out.has(e));
  if (misses.length > 0) {
    const found = await fromConnector(handle, misses);
    const fetchedAt = new Date().toISOString();
    misses.forEach((e, i) => {
      const slot = found[i];
      if (!Array.isArray(slot)) {
        out.set(e, toPublicError(slot, { provider: handle.connector.manifest.id, connectionId: handle.config.id }));
        return;
      }
      // Exact matches only: a provider's filter may be looser (Xero's searchTerm, case rules).
      const exact = slot.filter((c) => emailsOf(c).includes(e)).slice(0, MATCHES_PER_EMAIL);
      out.set(e, rc.loaders.prime(handle, 'Contact', exact, fetchedAt));
      const generation = cached[emails.indexOf(e)]!.generation;
      const page = { remoteIds: exact.map((c) => c.source.remoteId), endCursor: null, hasNextPage: false, totalCount: exact.length, fetchedAt };
      rc.loaders.writeBehind(() => rc.services.cache.setPage(scope, 'Contact', fingerprintOf(e), page, generation));
    });
  }
  return emails.map((e) => out.get(e) as ServedContact[] | GraphQLError);
}

/** One findByEmails call for all addresses, or one list page per address; failures per address. */
async function fromConnector(handle: ConnectionHandle, emails: readonly string[]): Promise<Array<ContactModel[] | ConnectorError | undefined>> {
  const loader = handle.connector.loaders.Contact;
  if (!loader) return emails.map(() => new ConnectorError('UPSTREAM_NOT_FOUND', `${handle.connector.manifest.displayName} does not serve contacts`));
  const failed = (err: unknown, operation: string) => {
    logUpstreamFailure(handle, err, operation);
    return err instanceof ConnectorError
      ? err
      : new ConnectorError('UPSTREAM_UNAVAILABLE', 'unexpected failure while reading from the provider', { cause: err });
  };
  if (loader.findByEmails) {
    try {
      const slots = await loader.findByEmails(emails, handle.ctx);
      if (slots.length !== emails.length)
        throw new ConnectorError(
          'UPSTREAM_BAD_RESPONSE',
          `Contact.findByEmails must return one slot per e-mail, in order (got ${slots.length} for ${emails.length})`,
        );
      return slots;
    } catch (err) {
      const e = failed(err, 'Contact.findByEmails');
      return emails.map(() => e);
    }
  }
  const first = Math.min(MATCHES_PER_EMAIL, handle.connector.manifest.maxPageSize);
  return Promise.all(
    emails.map(async (email) => {
      try {
        return (await loader.list({ first, after: null, filter: { email } }, handle.ctx)).nodes;
      } catch (err) {
        return failed(err, 'Contact.list');
      }
    }),
  );
}
