// Resuming subscriptions over graphql-ws on a fresh key prefix: the cursor changeCursor returns
// before any change exists resumes every later change, and a cursor whose successors were trimmed
// ends the subscription with an `error` carrying BAD_USER_INPUT (a `complete` would make clients
// believe the stream simply ended, and resubscribe forever).
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PublishedChange } from '../src/events/model.ts';
import { startStack, subscribe, type Stack } from './helpers.ts';

const RETAINED = 5;
const SUB = 'subscription ($after: String) { contactChanged(after: $after) { cursor source { remoteId } } }';
type Change = { contactChanged: { cursor: string; source: { remoteId: string } } };

function change(n: number): Omit<PublishedChange, 'cursor'> {
  const now = new Date().toISOString();
  return {
    tenantId: 'acme',
    connectionId: 'acme-hubspot',
    provider: 'hubspot',
    entity: 'Contact',
    eventId: `resume-${n}-${randomUUID()}`,
    type: 'DELETED',
    occurredAt: now,
    remoteId: String(n),
    model: null,
    publishedAt: now,
  };
}

describe('subscription resume on a fresh change log', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      scale: { contacts: 5, invoices: 5, orders: 5 },
      config: { events: { workerConcurrency: 2, maxAttempts: 2, retryBaseDelayMs: 20, dedupeTtlSeconds: 3600, retainedChanges: RETAINED } },
    });
  });
  afterAll(async () => {
    await stack?.stop();
  });

  it('changeCursor of an empty log resumes every change; a trimmed-past cursor gets an error, not a complete', async () => {
    const { data } = await stack.query<{ changeCursor: string }>('{ changeCursor }');
    const fromEmpty = data!.changeCursor;
    const log = stack.gateway.services.events!.log;
    for (let i = 1; i <= 3; i++) await log.append(change(i));

    const resumed = await subscribe<Change>(stack.gateway.url, stack.apiKey, SUB, { after: fromEmpty });
    try {
      const got = await resumed.waitFor(3);
      expect(got.map((c) => c.contactChanged.source.remoteId)).toEqual(['1', '2', '3']);
    } finally {
      await resumed.close();
    }

    // Enough changes to trim the first ones: the empty log's cursor now really has a gap.
    for (let i = 4; i <= 3 * RETAINED; i++) await log.append(change(i));
    const refused = await subscribe<Change>(stack.gateway.url, stack.apiKey, SUB, { after: fromEmpty });
    try {
      await expect(refused.waitFor(1, 5_000)).rejects.toThrow(/subscription failed/);
      const [errors] = refused.errors as Array<Array<{ message: string; extensions?: { code?: string } }>>;
      expect(errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
      expect(errors?.[0]?.message).toMatch(/older than the retained change history/);
    } finally {
      await refused.close();
    }
  });
});
