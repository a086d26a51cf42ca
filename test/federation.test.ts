// Switchboard as a Federation 2 subgraph, end to end with real servers and no mocks: the gateway
// (with its emulators), a second subgraph written here (the tenant's own `User { id email contact person }`
// referencing Switchboard's Contact by id and Person by e-mail), composed by @theguild/federation-composition from the SDL
// each subgraph serves on `_service`, and served by Hive Gateway's runtime over HTTP. A query that
// crosses both subgraphs is counted at the HubSpot emulator and run with two tenants' keys.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { ApolloServer } from '@apollo/server';
import { ApolloServerPluginInlineTraceDisabled } from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';
import { composeServices } from '@theguild/federation-composition';
import { parse } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubspot } from '../connectors/hubspot/index.ts';
import { demoPeople } from '../connectors/sdk/demo-data.ts';
import { hashApiKey } from '../src/callers/tenants.ts';
import { encodeId } from '../src/ids.ts';
import { TOKENS, counterValue, graphql, hubspotContactIds, startStack, type Stack } from './helpers.ts';

const USERS_SDL = /* GraphQL */ `
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.3", import: ["@key"])

  type Query {
    users: [User!]!
    "The signed-in user (here: always the same one, a person the demo data has in several providers)."
    me: User!
  }

  "The tenant's own user, whose CRM record lives in Switchboard."
  type User @key(fields: "id") {
    id: ID!
    email: String!
    contact: Contact
    person: Person
  }

  type Contact @key(fields: "id", resolvable: false) {
    id: ID!
  }

  "Switchboard's scalar: a key field has the same type in every subgraph."
  scalar EmailAddress

  type Person @key(fields: "primaryEmail", resolvable: false) {
    primaryEmail: EmailAddress!
  }
`;
/** A person of the demo data (startStack's seed 7) who is a HubSpot contact, a Stripe and a WooCommerce customer. */
const SHARED = demoPeople(500, 7)[260]!;

const listen = (server: Server) =>
  new Promise<string>((resolve) => server.listen(0, '127.0.0.1', () => resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`)));

describe('federation: Switchboard as a subgraph behind Hive Gateway', () => {
  let stack: Stack;
  let users: ApolloServer;
  let router: Server;
  let routerUrl: string;
  let closeRouter: () => Promise<void>;
  let routedIds: string[];
  let directIds: string[];
  const otherKey = `sb_test_${randomUUID()}`;
  const readOnlyKey = `sb_test_${randomUUID()}`;

  beforeAll(async () => {
    stack = await startStack({
      extraTenants: ({ hubspot }) => [
        {
          id: 'globex',
          apiKeys: [
            { id: 'k1', sha256: hashApiKey(otherKey) },
            { id: 'k2', sha256: hashApiKey(readOnlyKey), scopes: ['read'] },
          ],
          connections: [
            { id: 'globex-hubspot', provider: 'hubspot', baseUrl: hubspot.url, credentials: { type: 'static', token: TOKENS.hubspot }, settings: {} },
          ],
        },
      ],
    });
    const remote = await hubspotContactIds(stack, 200);
    expect(remote).toHaveLength(200);
    routedIds = remote.slice(0, 100).map((r) => encodeId('Contact', 'acme-hubspot', r));
    directIds = remote.slice(100).map((r) => encodeId('Contact', 'acme-hubspot', r));

    // The second subgraph: 100 users, each the owner of one of acme's HubSpot contacts.
    const userRows = routedIds.map((contactId, i) => ({ id: `u${i}`, email: `user${i}@tenant.example`, contact: { id: contactId }, person: null }));
    // The other subgraph knows only the user's e-mail: it hands the router a Person reference by it.
    const me = { id: 'me', email: SHARED.email.toUpperCase(), contact: null, person: { primaryEmail: SHARED.email.toUpperCase() } };
    users = new ApolloServer({
      schema: buildSubgraphSchema({ typeDefs: parse(USERS_SDL), resolvers: { Query: { users: () => userRows, me: () => me } } }),
      plugins: [ApolloServerPluginInlineTraceDisabled()],
    });
    const { url: usersUrl } = await startStandaloneServer(users, { listen: { port: 0, host: '127.0.0.1' } });

    // Composition from what each subgraph serves on `_service { sdl }` (Switchboard's needs the schema scope).
    const served = await stack.query<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(served.errors).toBeUndefined();
    const composed = composeServices([
      { name: 'switchboard', typeDefs: parse(served.data!._service.sdl), url: stack.gateway.url },
      { name: 'users', typeDefs: parse(USERS_SDL), url: usersUrl },
    ]);
    expect(composed.errors ?? []).toEqual([]);
    const supergraph = (composed as { supergraphSdl: string }).supergraphSdl;

    // The router forwards the caller's Authorization header to the subgraphs: Switchboard
    // authenticates the tenant exactly as for a direct request.
    const runtime = createGatewayRuntime({
      supergraph,
      logging: false,
      maskedErrors: false,
      propagateHeaders: { fromClientToSubgraphs: ({ request }) => ({ authorization: request.headers.get('authorization') ?? '' }) },
    });
    router = createServer(runtime);
    routerUrl = await listen(router);
    closeRouter = async () => {
      await new Promise<void>((resolve) => router.close(() => resolve()));
      await runtime.dispose();
    };
  }, 120_000);

  afterAll(async () => {
    await closeRouter?.();
    await users?.stop();
    await stack?.stop();
  });

  const CROSSING = '{ users { id email contact { id name emails { address } source { provider connectionId } } } }';

  it('composes, and a query crossing both subgraphs resolves 100 Contact references in the upstream calls of contacts by ids', async () => {
    // Baseline in the same run: 100 other contacts of the same connection read directly by ids.
    stack.hubspot.resetRequests();
    const direct = await stack.query<{ nodes: Array<{ name: string } | null> }>('query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Contact { name } } }', {
      ids: directIds,
    });
    expect(direct.errors).toBeUndefined();
    const directCalls = stack.hubspot.count();
    // HubSpot's batch read takes 100 ids: one call.
    expect(directCalls).toBe(Math.ceil(100 / (hubspot.manifest.maxBatchSize.Contact ?? 1)));

    stack.hubspot.resetRequests();
    type Row = {
      id: string;
      email: string;
      contact: { id: string; name: string; emails: Array<{ address: string }>; source: { provider: string; connectionId: string } } | null;
    };
    const routed = await graphql<{ users: Row[] }>(routerUrl, stack.apiKey, CROSSING);
    expect(routed.errors).toBeUndefined();
    const rows = routed.data?.users ?? [];
    expect(rows).toHaveLength(100);
    rows.forEach((row, i) => {
      expect(row.email).toBe(`user${i}@tenant.example`);
      expect(row.contact?.id).toBe(routedIds[i]);
      expect(row.contact?.name).toBeTruthy();
      expect(row.contact?.source).toEqual({ provider: 'hubspot', connectionId: 'acme-hubspot' });
    });
    expect(stack.hubspot.count()).toBe(directCalls);

    // The references were read through the record cache ordinary reads use: asking for the same
    // contacts directly costs no further call.
    stack.hubspot.resetRequests();
    const again = await stack.query<{ nodes: Array<{ name: string } | null> }>('query ($ids: [ID!]!) { nodes(ids: $ids) { ... on Contact { name } } }', {
      ids: routedIds,
    });
    expect(again.data?.nodes.map((n) => n?.name)).toEqual(rows.map((r) => r.contact?.name));
    expect(stack.hubspot.count()).toBe(0);
  });

  it("keeps tenants apart through the router: another tenant's key resolves none of acme's contacts", async () => {
    stack.hubspot.resetRequests();
    const routed = await graphql<{ users: Array<{ id: string; contact: { name: string | null } | null }> }>(
      routerUrl,
      otherKey,
      '{ users { id contact { name } } }',
    );
    const rows = routed.data?.users ?? [];
    expect(rows).toHaveLength(100);
    // The router keeps the users and their references; Switchboard resolves none of them for this
    // tenant (the ids name acme's connection), and no call reaches the provider.
    expect(rows.every((u) => u.contact === null || u.contact.name === null)).toBe(true);
    expect(stack.hubspot.count()).toBe(0);
    expect(routed.errors?.map((e) => e.extensions?.code)).toContain('UPSTREAM_NOT_FOUND');
    // Without a key Switchboard refuses the router's call (401), and the router has no contact data either.
    const anonymous = await graphql<{ users: Array<{ contact: { name: string | null } | null }> }>(routerUrl, null, '{ users { id contact { name } } }');
    expect(anonymous.data?.users ?? []).toHaveLength(100);
    expect((anonymous.data?.users ?? []).every((u) => u.contact === null || u.contact.name === null)).toBe(true);
    expect(anonymous.errors?.length ?? 0).toBeGreaterThan(0);
    expect(stack.hubspot.count()).toBe(0);
  });

  it('resolves a Person reference from the other subgraph through the router: one lookup per connection, per tenant', async () => {
    const resetAll = () => stack.emulators.forEach((e) => e.resetRequests());
    type Me = {
      me: { email: string; person: { primaryEmail: string; contacts: Array<{ id: string; source: { provider: string; connectionId: string } }> } | null };
    };
    const ME = '{ me { email person { primaryEmail contacts { id source { provider connectionId } } } } }';
    resetAll();
    const routed = await graphql<Me>(routerUrl, stack.apiKey, ME);
    expect(routed.errors).toBeUndefined();
    const person = routed.data!.me.person!;
    // A key field comes from the subgraph that holds the reference (the router does not ask
    // Switchboard for it): as the users subgraph gave it, while the lookup used the normalized address.
    expect(person.primaryEmail).toBe(SHARED.email.toUpperCase());
    const providers = person.contacts.map((c) => c.source.provider);
    expect(providers).toEqual(expect.arrayContaining(['hubspot', 'stripe', 'woocommerce']));
    expect(person.contacts.every((c) => c.source.connectionId.startsWith('acme-'))).toBe(true);
    // One e-mail lookup per connection serving contacts, as for person(email:) asked directly.
    for (const [id, emulator] of stack.emulators) expect(emulator.count(), id).toBe(1);

    // Through the same router, globex's key gets globex's person: its one HubSpot connection (the
    // same emulator, so the same contact, under globex's connection id), nothing of acme's.
    resetAll();
    const other = await graphql<Me>(routerUrl, otherKey, ME);
    expect(other.errors).toBeUndefined();
    const theirs = other.data!.me.person!;
    expect(theirs.contacts.map((c) => c.source)).toEqual([{ provider: 'hubspot', connectionId: 'globex-hubspot' }]);
    expect(theirs.contacts[0]!.id).not.toBe(person.contacts.find((c) => c.source.provider === 'hubspot')!.id);
    expect(stack.hubspot.count()).toBe(1);
    for (const [id, emulator] of stack.emulators) if (id !== 'hubspot') expect(emulator.count(), id).toBe(0);
  });

  it('answers _entities directly like nodes(ids:), and serves _service only to keys with the schema scope', async () => {
    const [first] = routedIds;
    const entities = await stack.query<{ _entities: Array<{ __typename: string; id: string } | null> }>(
      'query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Contact { id } } }',
      { r: [{ __typename: 'Contact', id: first }] },
    );
    expect(entities.data?._entities).toEqual([{ __typename: 'Contact', id: first }]);
    // Never answered from the whole-response cache (its tags could not name what _entities read).
    const hits = () => counterValue(stack.gateway, 'switchboard_cache_requests_total', { kind: 'response', result: 'hit' });
    const before = await hits();
    await stack.query('query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Contact { id } } }', {
      r: [{ __typename: 'Contact', id: first }],
    });
    expect(await hits()).toBe(before);
    const sdl = await stack.query<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(sdl.data?._service.sdl).toMatch(/type Contact implements Node\s+@key\(fields: "id"\)/);
    expect(sdl.data?._service.sdl).toMatch(/type Invoice implements Node\s+@key\(fields: "id"\)/);
    expect(sdl.data?._service.sdl).toMatch(/type Order implements Node\s+@key\(fields: "id"\)/);
    expect(sdl.data?._service.sdl).toContain('@link(url: "https://specs.apollo.dev/federation/v2.3"');
    const denied = await stack.query('{ _service { sdl } }', {}, readOnlyKey);
    expect(denied.status).toBe(403);
    expect(denied.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });

  it('resolves Person references by primaryEmail across providers (normalized), and an unknown address to null', async () => {
    const { data } = await stack.query<{ contacts: { nodes: Array<{ id: string; emails: Array<{ address: string }> }> } }>(
      '{ contacts(first: 1, filter: { provider: "hubspot" }) { nodes { id emails { address } } } }',
    );
    const contact = data!.contacts.nodes[0]!;
    const email = contact.emails[0]!.address;
    type Entities = { _entities: Array<{ __typename: string; primaryEmail: string; contacts: Array<{ id: string }> } | null> };
    const res = await stack.query<Entities>(
      'query ($r: [_Any!]!) { _entities(representations: $r) { __typename ... on Person { primaryEmail contacts { id } } } }',
      {
        r: [
          { __typename: 'Person', primaryEmail: `  ${email.toUpperCase()} ` },
          { __typename: 'Person', primaryEmail: 'nobody-at-all@nowhere.example' },
        ],
      },
    );
    expect(res.errors).toBeUndefined();
    const [person, unknown] = res.data!._entities;
    expect(person).toMatchObject({ __typename: 'Person', primaryEmail: email.toLowerCase() });
    expect(person!.contacts.map((c) => c.id)).toContain(contact.id);
    expect(unknown).toBeNull();
    const sdl = await stack.query<{ _service: { sdl: string } }>('{ _service { sdl } }');
    expect(sdl.data?._service.sdl).toMatch(/type Person\s+@key\(fields: "primaryEmail"\)/);
  });
});
