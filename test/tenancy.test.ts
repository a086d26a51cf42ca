// Tenant isolation: two tenants whose providers use the SAME remote ids. Neither can read the
// other's records, through lists, ids or the shared Redis cache.
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEmulator as startHubspot } from '../connectors/hubspot/emulator/index.ts';
import type { EmulatorHandle } from '../connectors/sdk/emulator.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { encodeId } from '../src/ids.ts';
import { TOKENS, startStack, type Stack } from './helpers.ts';

const OTHER_TOKEN = 'pat-na1-other000-0000-4000-8000-000000000000';

describe('tenant isolation', () => {
  let stack: Stack;
  let otherHubspot: EmulatorHandle;
  const otherKey = `sb_test_${randomUUID()}`;

  beforeAll(async () => {
    // Same scale, different seed: HubSpot ids are sequential, so both portals hold the same
    // remote ids with different people behind them.
    otherHubspot = await startHubspot({ credentials: [OTHER_TOKEN], seed: 1234 });
    stack = await startStack({
      extraTenants: () => [
        {
          id: 'globex',
          apiKeys: [{ id: 'k1', sha256: hashApiKey(otherKey) }],
          connections: [
            { id: 'globex-hubspot', provider: 'hubspot', baseUrl: otherHubspot.url, credentials: { type: 'static', token: OTHER_TOKEN }, settings: {} },
          ],
        },
      ],
    });
  });
  afterAll(async () => {
    await stack?.stop();
    await otherHubspot?.stop();
  });

  const LIST = '{ contacts(first: 50, filter: { provider: "hubspot" }) { nodes { id name emails { address } source { remoteId connectionId } } } }';
  type ListResult = {
    contacts: { nodes: Array<{ id: string; name: string; emails: Array<{ address: string }>; source: { remoteId: string; connectionId: string } }> };
  };

  it("never returns another tenant's records, even for the same remote ids and a warm cache", async () => {
    const a1 = await stack.query<ListResult>(LIST);
    const b1 = await stack.query<ListResult>(LIST, {}, otherKey);
    const a2 = await stack.query<ListResult>(LIST); // now from the cache
    const b2 = await stack.query<ListResult>(LIST, {}, otherKey);
    const aIds = a1.data!.contacts.nodes.map((n) => n.source.remoteId);
    const bIds = b1.data!.contacts.nodes.map((n) => n.source.remoteId);
    expect(aIds.filter((id) => bIds.includes(id)).length).toBeGreaterThan(10); // same remote ids exist
    expect(a1.data!.contacts.nodes.every((n) => n.source.connectionId === 'acme-hubspot')).toBe(true);
    expect(b1.data!.contacts.nodes.every((n) => n.source.connectionId === 'globex-hubspot')).toBe(true);
    // Same remote id, different person: answers follow the tenant, not the cache key's remote id.
    const aByRemote = new Map(a1.data!.contacts.nodes.map((n) => [n.source.remoteId, n.emails[0]?.address]));
    const differing = b1.data!.contacts.nodes.filter((n) => aByRemote.has(n.source.remoteId) && aByRemote.get(n.source.remoteId) !== n.emails[0]?.address);
    expect(differing.length).toBeGreaterThan(0);
    expect(a2.data).toEqual(a1.data);
    expect(b2.data).toEqual(b1.data);
  });

  it("resolves another tenant's global id to nothing", async () => {
    const b = await stack.query<ListResult>(LIST, {}, otherKey);
    const foreign = b.data!.contacts.nodes[0]!.id;
    const res = await stack.query<{ node: unknown }>('query ($id: ID!) { node(id: $id) { id } }', { id: foreign });
    expect(res.data?.node).toBeNull();
    expect(res.errors?.[0]?.extensions?.code).toBe('UPSTREAM_NOT_FOUND');
    // A forged id naming the other tenant's connection with a remote id that exists there: same answer.
    const forged = encodeId('Contact', 'globex-hubspot', b.data!.contacts.nodes[1]!.source.remoteId);
    const res2 = await stack.query<{ node: unknown }>('query ($id: ID!) { node(id: $id) { id } }', { id: forged });
    expect(res2.data?.node).toBeNull();
    expect(res2.errors?.[0]?.message).toBe(res.errors?.[0]?.message);
  });

  it("does not accept one tenant's provider token as a GraphQL API key", async () => {
    const res = await stack.query('{ contacts(first: 1) { nodes { id } } }', {}, TOKENS.hubspot);
    expect(res.status).toBe(401);
  });
});
