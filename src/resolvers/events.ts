// Subscriptions, the change cursor and the dead-letter store: thin, like every resolver.
import { audited } from './connections.ts';
import type { EntityType } from '../../connectors/sdk/models.ts';
import type { RequestContext } from '../context.ts';
import { badUserInput } from '../errors.ts';
import { changeStream } from '../events/subscribe.ts';
import type { PublishedChange } from '../events/model.ts';
import type { ChangeFilter, Resolvers } from '../generated/graphql.ts';
import { encodeId } from '../ids.ts';
import type { Served, ServedSource } from '../models.ts';
import type { EntityModelMap } from '../../connectors/sdk/models.ts';

/**
 * A subscription's arguments as one object (it lives as long as the subscription; a closure over
 * the arguments would be three objects). Ownership was checked when the change was processed (the
 * worker drops changes of connections no longer owned, disconnected or disabled) and the tenant is
 * checked on every event (events/subscribe.ts); the subscription's own view of the tenant's
 * connections is not consulted, so connections created after subscribing are delivered too.
 */
class ChangeMatcher {
  constructor(
    private readonly entity: EntityType,
    private readonly provider: string | null,
    private readonly connectionId: string | null,
    private readonly types: ReadonlySet<string> | null,
  ) {}

  matches(c: PublishedChange): boolean {
    return (
      c.entity === this.entity &&
      (!this.provider || c.provider === this.provider) &&
      (!this.connectionId || c.connectionId === this.connectionId) &&
      (!this.types || this.types.has(c.type))
    );
  }
}

function subscription(entity: EntityType) {
  return {
    subscribe: (_: unknown, args: { filter?: ChangeFilter | null; after?: string | null }, rc: RequestContext) => {
      const f = args.filter ?? {};
      if (f.provider && !rc.services.connectors.has(f.provider)) throw badUserInput(`unknown provider "${f.provider}"`, 'filter');
      const types = f.types?.length ? new Set<string>(f.types) : null;
      const matcher = new ChangeMatcher(entity, f.provider || null, f.connectionId || null, types);
      return changeStream(rc.events.log, rc.tenant.id, matcher, args.after, rc.events.streamObserver);
    },
    resolve: (change: PublishedChange) => change,
  };
}

function served(change: PublishedChange): Served<EntityModelMap[EntityType]> | null {
  if (!change.model) return null;
  return {
    ...change.model,
    served: { tenantId: change.tenantId, connectionId: change.connectionId, fetchedAt: change.publishedAt, cacheStatus: 'MISS' },
  } as Served<EntityModelMap[EntityType]>;
}

function envelope(entity: EntityType) {
  return {
    id: (c: PublishedChange) => encodeId(entity, c.connectionId, c.remoteId),
    source: (c: PublishedChange): ServedSource => ({
      provider: c.provider,
      remoteId: c.remoteId,
      remoteUrl: c.model?.source.remoteUrl ?? null,
      remoteCreatedAt: c.model?.source.remoteCreatedAt ?? null,
      remoteUpdatedAt: c.model?.source.remoteUpdatedAt ?? null,
      remoteDeleted: c.type === 'DELETED' || (c.model?.source.remoteDeleted ?? false),
      tenantId: c.tenantId,
      connectionId: c.connectionId,
      fetchedAt: c.publishedAt,
      cacheStatus: 'MISS',
    }),
  };
}

export const eventResolvers: Resolvers = {
  Subscription: {
    contactChanged: subscription('Contact') as never,
    invoiceChanged: subscription('Invoice') as never,
    orderChanged: subscription('Order') as never,
  },
  ContactChange: { ...envelope('Contact'), contact: (c) => served(c) as never },
  InvoiceChange: { ...envelope('Invoice'), invoice: (c) => served(c) as never },
  OrderChange: { ...envelope('Order'), order: (c) => served(c) as never },
  Query: {
    changeCursor: async (_, __, rc) => rc.events.headCursor(rc.tenant.id),
    deadLetters: async (_, { first, after }, rc) => {
      const n = first ?? rc.config.limits.defaultPageSize;
      if (n < 0 || n > rc.config.limits.maxPageSize) throw badUserInput(`\`first\` must be between 0 and ${rc.config.limits.maxPageSize}`, 'first');
      return rc.events.deadLetters.list(rc.tenant.id, n, after ?? null);
    },
  },
  Mutation: {
    replayDeadLetter: (_, { id }, rc) =>
      audited(
        rc,
        'deadLetter.replayed',
        (replayed) => ({ target: id, ok: replayed === true }),
        () => rc.events.replay(rc.tenant.id, id),
      ),
  },
  DeadLetterConnection: {
    edges: (p) => p.letters.map((node) => ({ node, cursor: node.id })),
    nodes: (p) => p.letters,
    pageInfo: (p) => ({
      hasNextPage: p.hasNextPage,
      hasPreviousPage: false,
      startCursor: p.letters[0]?.id ?? null,
      endCursor: p.letters[p.letters.length - 1]?.id ?? null,
    }),
  },
};
