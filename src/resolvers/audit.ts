// The audit trail and a person's data (export, purge): admin-scope operations on the tenant's own
// records, thin like every resolver. The work is in src/audit/ and src/privacy/.
import { AUDIT_ACTIONS, AuditInputError, type AuditAction } from '../audit/log.ts';
import { forbidden } from '../callers/scopes.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput } from '../errors.ts';
import type { Resolvers } from '../generated/graphql.ts';
import { encodeId } from '../ids.ts';
import { PersonQueryError, exportPerson, purgePerson, type PersonQuery, type PrivacyDeps } from '../privacy/purge.ts';
import { requester } from './connections.ts';

/** The gateway's stores, as the GraphQL mutations use them. */
export function privacyDeps(services: RequestContext['services']): PrivacyDeps {
  return {
    cache: services.cache,
    changeLog: services.events.log,
    audit: services.audit,
    identity: services.identity,
    connectionsOf: async (tenantId) => {
      const own = new Set((await services.connections.listByTenant(tenantId)).map((c) => c.id));
      for (const t of services.config.tenants) if (t.id === tenantId) for (const c of t.connections) own.add(c.id);
      return own;
    },
  };
}

function requireAdmin(rc: RequestContext, what: string): void {
  if (!rc.principal.scopes.has('admin')) throw forbidden(`${what} needs the "admin" scope`);
}

function personQuery(args: { email?: string | null; remoteIds?: ReadonlyArray<{ connectionId: string; remoteId: string }> | null }): PersonQuery {
  return { email: args.email ?? null, remoteIds: args.remoteIds ?? null };
}

async function privacy<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof PersonQueryError) throw badUserInput(err.message, 'email');
    throw err;
  }
}

export const auditResolvers: Resolvers = {
  Mutation: {
    purgePerson: (_, args, rc) => privacy(() => purgePerson(privacyDeps(rc.services), rc.tenant.id, personQuery(args), requester(rc))),
  },
  Query: {
    exportPerson: async (_, args, rc) => {
      requireAdmin(rc, "exporting a person's data");
      const out = await privacy(() => exportPerson(privacyDeps(rc.services), rc.tenant.id, personQuery(args), requester(rc)));
      return {
        ...out,
        records: out.records.map((r) => ({ ...r, store: r.store === 'cache' ? 'CACHE' : 'CHANGE_LOG' })),
        identityLinks: out.links.map((l) => ({
          personEmail: l.email,
          contactId: encodeId('Contact', l.contact.connectionId, l.contact.remoteId),
          kind: l.kind === 'link' ? 'LINK' : 'UNLINK',
          at: l.at,
          actor: l.actor,
        })),
      };
    },
    auditLog: async (_, args, rc) => {
      requireAdmin(rc, 'reading the audit log');
      const { defaultPageSize, maxPageSize } = rc.config.limits;
      const first = args.first ?? defaultPageSize;
      if (!Number.isInteger(first) || first < 1 || first > maxPageSize) throw badUserInput(`first must be between 1 and ${maxPageSize}`, 'first');
      const actions = args.filter?.actions ?? undefined;
      const unknown = actions?.filter((a) => !AUDIT_ACTIONS.includes(a as AuditAction));
      if (unknown?.length) throw badUserInput(`unknown audit actions: ${unknown.join(', ')} (known: ${AUDIT_ACTIONS.join(', ')})`, 'filter');
      const since = args.filter?.since;
      try {
        const page = await rc.services.audit.list(rc.tenant.id, {
          first,
          after: args.after ?? null,
          filter: {
            ...(actions ? { actions: actions as AuditAction[] } : {}),
            ...(args.filter?.actor ? { actor: args.filter.actor } : {}),
            ...(args.filter?.target ? { target: args.filter.target } : {}),
            ...(since ? { since: new Date(since as string | Date).toISOString() } : {}),
          },
        });
        return { entries: page.entries.map((e) => ({ ...e, outcome: e.outcome.toUpperCase() })), endCursor: page.endCursor };
      } catch (err) {
        if (err instanceof AuditInputError) throw badUserInput(err.message, 'after');
        throw err;
      }
    },
  },
};
