// The conformance suite every connector runs against its emulator (connectors/<id>/conformance.test.ts),
// and the test context helper. One suite, many connectors: a new connector is done when it passes.
// The suite is grouped (manifest, byIds, lists, faults, auth, rateLimits, webhooks) so a provider gets
// every generic case for free; a group it cannot run is switched off with a reason that the run prints.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamClient, DEFAULT_UPSTREAM_OPTIONS, type UpstreamOptions } from '../../src/upstream/client.ts';
import type { ResolveHost } from '../../src/upstream/address-guard.ts';
import { fetchTransport } from '../../src/upstream/transport.ts';
import { COVERED_FIELDS, coverageViolations, type FieldFill } from './coverage.ts';
import { validateManifest } from './define.ts';
import type { EmulatorHandle, ProviderEmulatorOptions } from './emulator.ts';
import { ConnectorError } from './errors.ts';
import type { EntityModel, EntityModelMap, EntityType, InvoiceModel, LineItemModel, OrderModel } from './models.ts';
import type { Connector, ConnectorContext, EntityLoader, LineItemOwnerLoader, WebhookVerifyInput } from './types.ts';
import { modelProblems } from './validate.ts';

export interface TestContextOptions {
  connector: Connector;
  baseUrl: string;
  token: string;
  tenantId?: string;
  connectionId?: string;
  settings?: Record<string, unknown>;
  /** Overrides for the fetch wrapper (tests use short delays and timeouts). */
  upstream?: Partial<UpstreamOptions>;
  /** Time budget of the simulated GraphQL request. */
  deadlineMs?: number;
  /** Transport used by the wrapper; defaults to global fetch. */
  fetchImpl?: typeof fetch;
  /** ConnectorContext.production (default false). */
  production?: boolean;
  /** How requests with an addressCheck resolve host names (a name the test answers for); default the system resolver. */
  resolveHost?: ResolveHost;
  /**
   * An upstream client to share between contexts, so its rate budgets persist from one call to the
   * next as in a gateway (a walk of search pages is paced by HubSpot's 5-per-second window).
   * Default: a fresh client per context (with `upstream` and `fetchImpl` applied).
   */
  client?: UpstreamClient;
}

export interface TestContext extends ConnectorContext {
  /** Everything the connector primed, in order. */
  primed: Array<{ entity: EntityType; model: EntityModel }>;
}

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A ConnectorContext backed by the real fetch wrapper (retries, breaker, timeouts), for tests. */
function testUpstreamClient(overrides?: Partial<UpstreamOptions>, fetchImpl?: typeof fetch, resolveHost?: ResolveHost): UpstreamClient {
  const options = { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 50, ...overrides };
  return new UpstreamClient(null, options, fetchImpl ? fetchTransport(fetchImpl) : undefined, undefined, resolveHost ? { resolveHost } : {});
}

export function createTestContext(options: TestContextOptions): TestContext {
  const upstream = options.client ?? testUpstreamClient(options.upstream, options.fetchImpl, options.resolveHost);
  const connection = {
    id: options.connectionId ?? 'conn_test',
    tenantId: options.tenantId ?? 'tenant_test',
    provider: options.connector.manifest.id,
    baseUrl: options.baseUrl,
    settings: options.settings ?? {},
  };
  const signal = new AbortController().signal;
  const accessToken = async () => options.token;
  const primed: TestContext['primed'] = [];
  return {
    connection,
    signal,
    log: silentLog,
    accessToken,
    production: options.production === true,
    fetch: upstream.forScope({
      manifest: options.connector.manifest,
      connection,
      signal,
      deadline: Date.now() + (options.deadlineMs ?? 15_000),
      credential: { token: accessToken, renew: async () => null },
    }),
    prime: (entity, model) => {
      primed.push({ entity, model });
    },
    primed,
  };
}

/** A group a connector cannot run: switched off with the reason, which the suite prints as a skipped test. */
export interface GroupOff {
  off: string;
}

/** What the webhook group needs from a connector: one delivery the provider would send, and its signer. */
export interface WebhookConformance {
  /** The webhook secret deliveries are signed with. */
  secret: string;
  /** A delivery the connector maps to at least one change: the body and the unsigned headers (topic, ids). */
  delivery: { body: string; headers?: Record<string, string> };
  /** The signature headers the provider sends with `body` (lower-case names). */
  sign: (request: { body: Buffer; secret: string; url: string; method: string; now: number }) => Record<string, string>;
  /** The URL the provider calls (default https://gateway.example/webhooks/<id>/conn_test). */
  url?: string;
}

/**
 * The groups of the suite. Generic groups run unless switched off; the webhook group needs the
 * connector's signer, so it is always stated: a signer, or `{ off: reason }`.
 */
export interface ConformanceGroups {
  /** The manifest validates; every recorded fixture maps to a valid model. */
  manifest?: GroupOff;
  /** byIds: input order, per-key NOT_FOUND, duplicates, call budget, only ctx.fetch, deferred line items. */
  byIds?: GroupOff;
  /** list: pages to the end with round-tripping cursors and no duplicates. */
  lists?: GroupOff;
  /** 403, 503, a malformed body and no answer map to their codes, for list and byIds. */
  faults?: GroupOff;
  /** A credential the provider refuses maps to UPSTREAM_UNAUTHORIZED. */
  auth?: GroupOff;
  /** A 429 with Retry-After is retried; a 429 on every attempt maps to UPSTREAM_RATE_LIMITED. */
  rateLimits?: GroupOff;
  /** The coverage declaration holds on every listed record: ALWAYS fields filled, NEVER fields empty. */
  coverage?: GroupOff;
  webhooks: WebhookConformance | GroupOff;
}

export type ConformanceGroupName = keyof ConformanceGroups;

export interface ConformanceTarget {
  connector: Connector;
  startEmulator: (options: ProviderEmulatorOptions) => Promise<EmulatorHandle>;
  /** A credential the emulator accepts. */
  token: string;
  /** Connection settings every suite call carries (a company id the API path needs, or the account a multi-account grant reaches). */
  settings?: Record<string, unknown>;
  /** Emulator options for the suite (small scale keeps it fast). */
  emulatorOptions?: Partial<ProviderEmulatorOptions>;
  /** Per entity: ids that exist in the seeded data (at least 3) and one that does not. */
  knownIds: Partial<Record<EntityType, string[]>>;
  missingId: Partial<Record<EntityType, string>>;
  /**
   * Upstream calls one byIds batch may cost per entity (1 for a plain batch read; HubSpot invoices
   * add association and line-item reads). The suite asserts calls ≤ ceil(n / maxBatchSize) × this.
   */
  callsPerBatch?: Partial<Record<EntityType, number>>;
  /** Recorded provider payloads and the mapper that turns each into a model. */
  fixtures: Array<{ name: string; entity: EntityType; raw: unknown; map: (raw: unknown) => EntityModel }>;
  /** Which groups run, and what the webhook group needs; see ConformanceGroups. */
  groups: ConformanceGroups;
}

/** What every group gets: the target, the running emulator and a context factory bound to it. */
interface SuiteScope {
  target: ConformanceTarget;
  emulator: () => EmulatorHandle;
  ctx: (extra?: Partial<TestContextOptions>) => TestContext;
}

type EntityCases = (scope: SuiteScope, entity: EntityType, loader: EntityLoader<EntityModel>) => void;

export function runConformanceSuite(target: ConformanceTarget): void {
  const { connector } = target;
  describe(`connector conformance: ${connector.manifest.id}`, () => {
    let running: EmulatorHandle | undefined;
    beforeAll(async () => {
      running = await target.startEmulator({ credentials: [target.token], seed: 7, ...target.emulatorOptions });
    });
    afterAll(async () => {
      await running?.stop();
    });
    const emulator = () => {
      if (!running) throw new Error('the emulator did not start');
      return running;
    };
    // One client for the suite's plain calls: its budgets pace consecutive calls as a gateway's do.
    let client: UpstreamClient | undefined;
    const scope: SuiteScope = {
      target,
      emulator,
      ctx: (extra = {}) =>
        createTestContext({
          connector,
          baseUrl: emulator().url,
          token: target.token,
          settings: target.settings,
          ...(extra.upstream || extra.fetchImpl ? {} : { client: (client ??= testUpstreamClient()) }),
          ...extra,
        }),
    };
    const { groups } = target;
    group('manifest', groups.manifest, () => manifestCases(target));
    group('byIds', groups.byIds, () => perEntity(scope, byIdsCases));
    group('lists', groups.lists, () => perEntity(scope, listCases));
    group('faults', groups.faults, () => perEntity(scope, faultCases));
    group('auth', groups.auth, () => perEntity(scope, authCases));
    group('rateLimits', groups.rateLimits, () => perEntity(scope, rateLimitCases));
    group('coverage', groups.coverage, () => perEntity(scope, coverageCases));
    group('webhooks', groups.webhooks, (signer) => webhookCases(connector, signer));
  });
}

/** Runs a group, or registers one skipped test whose title carries the reason it is off. */
function group<T>(name: ConformanceGroupName, setting: T | GroupOff | undefined, cases: (setting: T) => void): void {
  if (isOff(setting)) {
    it.skip(`${name}: switched off — ${setting.off}`, () => {});
    return;
  }
  describe(name, () => cases(setting as T));
}

function isOff(setting: unknown): setting is GroupOff {
  return typeof setting === 'object' && setting !== null && typeof (setting as GroupOff).off === 'string';
}

function perEntity(scope: SuiteScope, cases: EntityCases): void {
  const { connector } = scope.target;
  for (const entity of connector.manifest.entities) {
    const loader = connector.loaders[entity] as EntityLoader<EntityModelMap[typeof entity]>;
    describe(entity, () => cases(scope, entity, loader));
  }
}

const knownOf = (target: ConformanceTarget, entity: EntityType) => target.knownIds[entity] ?? [];
const missingOf = (target: ConformanceTarget, entity: EntityType) => target.missingId[entity] ?? 'missing-id-0';

function manifestCases(target: ConformanceTarget): void {
  const { connector, fixtures } = target;
  it('has a valid manifest', () => {
    expect(validateManifest(connector)).toEqual([]);
  });

  it.each(fixtures.map((f) => [f.name, f] as const))('maps recorded fixture %s to a valid model', (_name, fixture) => {
    const model = fixture.map(fixture.raw);
    expect(model.entity).toBe(fixture.entity);
    expect(modelProblems(model, connector.manifest.id)).toEqual([]);
  });
}

const byIdsCases: EntityCases = ({ target, emulator, ctx }, entity, loader) => {
  const { connector } = target;
  const id = connector.manifest.id;
  const known = knownOf(target, entity);
  const missing = missingOf(target, entity);

  it('byIds answers in input order with per-key NOT_FOUND and handles duplicates', async () => {
    expect(known.length).toBeGreaterThanOrEqual(3);
    const [a, b, c] = known as [string, string, string];
    const ids = [c, missing, a, b, a];
    const result = await loader.byIds(ids, ctx());
    expect(result).toHaveLength(ids.length);
    result.forEach((slot, i) => {
      if (ids[i] === missing) {
        expect(slot).toBeInstanceOf(ConnectorError);
        expect((slot as ConnectorError).code).toBe('UPSTREAM_NOT_FOUND');
      } else {
        expect(slot).not.toBeInstanceOf(ConnectorError);
        const model = slot as EntityModel;
        expect(model.source.remoteId).toBe(ids[i]);
        expect(modelProblems(model, id)).toEqual([]);
      }
    });
  });

  it('byIds stays within ceil(n / maxBatchSize) upstream calls and uses only ctx.fetch', async () => {
    let transportCalls = 0;
    const counting: typeof fetch = (input, init) => {
      transportCalls++;
      return fetch(input, init);
    };
    const direct = globalThis.fetch;
    let directCalls = 0;
    globalThis.fetch = ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) => {
      directCalls++;
      return direct(input, init);
    }) as typeof fetch;
    emulator().resetRequests();
    try {
      const ids = [...known, missing];
      await loader.byIds(ids, ctx({ fetchImpl: counting }));
      const max = connector.manifest.maxBatchSize[entity] ?? 1;
      const perBatch = target.callsPerBatch?.[entity] ?? 1;
      const upstreamCalls = emulator().count();
      expect(upstreamCalls).toBeLessThanOrEqual(Math.ceil(ids.length / max) * perBatch);
      // Every request the emulator saw came through the wrapper's transport.
      expect(upstreamCalls).toBe(transportCalls);
    } finally {
      globalThis.fetch = direct;
    }
    // The counting transport itself calls the real fetch once per request; nothing else may.
    expect(directCalls).toBe(transportCalls);
  });

  it.runIf(entity !== 'Contact')('serves line items its records leave out (null) through loaders.<entity>.lineItems, one slot per record', async () => {
    const models = (await loader.byIds(known, ctx())).filter((m): m is EntityModel => !(m instanceof ConnectorError));
    const deferred = models.filter((m): m is InvoiceModel | OrderModel => m.entity !== 'Contact' && m.lineItems === null);
    if (deferred.length === 0) return;
    const lineItems = (loader as unknown as LineItemOwnerLoader<InvoiceModel | OrderModel>).lineItems;
    expect(lineItems, `${entity} records defer lineItems, so loaders.${entity}.lineItems must exist`).toBeTypeOf('function');
    const slots = await lineItems!(deferred, ctx());
    expect(slots).toHaveLength(deferred.length);
    slots.forEach((slot, i) => {
      expect(slot).not.toBeInstanceOf(ConnectorError);
      expect(modelProblems({ ...deferred[i]!, lineItems: slot as LineItemModel[] }, id)).toEqual([]);
    });
  });
};

const listCases: EntityCases = ({ target, ctx }, entity, loader) => {
  it('list paginates to the end with round-tripping cursors and no duplicates', async () => {
    const seen = new Set<string>();
    let after: string | null = null;
    let pages = 0;
    for (;;) {
      const page = await loader.list({ first: 7, after, filter: {} }, ctx());
      pages++;
      expect(page.nodes.length).toBeLessThanOrEqual(7);
      for (const node of page.nodes) {
        expect(modelProblems(node, target.connector.manifest.id)).toEqual([]);
        expect(seen.has(node.source.remoteId)).toBe(false);
        seen.add(node.source.remoteId);
      }
      if (!page.hasNextPage) break;
      expect(page.endCursor).toBeTruthy();
      after = page.endCursor;
      expect(pages).toBeLessThan(500);
    }
    for (const k of knownOf(target, entity)) expect(seen.has(k)).toBe(true);
  });

  // Every order the manifest declares is served: each page continues the order of the one before,
  // and the walk holds the same records as an unordered one (the gateway merges on this promise).
  const orders = target.connector.manifest.listOrders?.[entity]?.orders ?? [];
  it.each(orders.map((name) => [name]))('list serves its declared order %s', async (name) => {
    const [field, direction] = [name.startsWith('CREATED_AT') ? 'CREATED_AT' : 'UPDATED_AT', name.endsWith('_ASC') ? 'ASC' : 'DESC'] as const;
    const keyOf = (node: EntityModel): number | null => {
      const text = field === 'CREATED_AT' ? node.source.remoteCreatedAt : node.source.remoteUpdatedAt;
      return text ? Date.parse(text) : null;
    };
    const walked: EntityModel[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 500; pages++) {
      const page = await loader.list({ first: 7, after, filter: {}, orderBy: { field, direction } }, ctx());
      walked.push(...page.nodes);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    const keys = walked.map(keyOf);
    // Records without the timestamp may only come last.
    const firstNull = keys.indexOf(null);
    if (firstNull >= 0) expect(keys.slice(firstNull).every((k) => k === null)).toBe(true);
    const timed = keys.filter((k): k is number => k !== null);
    const outOfOrder = timed.findIndex((k, i) => i > 0 && (direction === 'ASC' ? k < (timed[i - 1] as number) : k > (timed[i - 1] as number)));
    expect(outOfOrder, `record ${outOfOrder} of ${timed.length} breaks ${name}`).toBe(-1);
    expect(new Set(walked.map((n) => n.source.remoteId)).size).toBe(walked.length);
    for (const k of knownOf(target, entity)) expect(walked.some((n) => n.source.remoteId === k)).toBe(true);
  });

  // Every keyset order the manifest declares: a list started at a record's key holds exactly the
  // records at that key or later in the order (inclusive), which is what the gateway restarts a
  // walk from (docs/lists.md).
  const keysets = target.connector.manifest.listOrders?.[entity]?.keyset ?? [];
  it.each(keysets.map((name) => [name]))('list starts at a key for its declared keyset order %s', async (name) => {
    expect(orders).toContain(name);
    const [field, direction] = [name.startsWith('CREATED_AT') ? 'CREATED_AT' : 'UPDATED_AT', name.endsWith('_ASC') ? 'ASC' : 'DESC'] as const;
    const keyOf = (node: EntityModel): number | null => {
      const text = field === 'CREATED_AT' ? node.source.remoteCreatedAt : node.source.remoteUpdatedAt;
      return text ? Date.parse(text) : null;
    };
    const walk = async (keyset: { from: string } | null): Promise<EntityModel[]> => {
      const out: EntityModel[] = [];
      let after: string | null = null;
      for (let pages = 0; pages < 500; pages++) {
        const page = await loader.list({ first: 7, after, filter: {}, orderBy: { field, direction }, ...(keyset ? { keyset } : {}) }, ctx());
        out.push(...page.nodes);
        if (!page.hasNextPage) break;
        after = page.endCursor;
      }
      return out;
    };
    const all = (await walk(null)).filter((n) => keyOf(n) !== null);
    expect(all.length, 'records with the timestamp to start at').toBeGreaterThan(2);
    const from = keyOf(all[Math.floor(all.length / 2)] as EntityModel) as number;
    const inside = (k: number) => (direction === 'ASC' ? k >= from : k <= from);
    const want = all.filter((n) => inside(keyOf(n) as number)).map((n) => n.source.remoteId);
    const got = (await walk({ from: new Date(from).toISOString() })).filter((n) => keyOf(n) !== null);
    expect(got.map((n) => n.source.remoteId).sort()).toEqual([...want].sort());
    expect(got.every((n) => inside(keyOf(n) as number))).toBe(true);
  });
};

/**
 * Every record of the emulator's data, listed to the end with deferred line items loaded, against
 * the connector's coverage declaration: docs/coverage.md and the SDL descriptions are generated from
 * it, so this is what keeps them from claiming more (or less) than the mapper does.
 */
const coverageCases: EntityCases = ({ target, ctx }, entity, loader) => {
  it('fills every field declared ALWAYS and none declared NEVER, on every record', async () => {
    const models: EntityModel[] = [];
    let after: string | null = null;
    for (let pages = 0; pages < 500; pages++) {
      const page = await loader.list({ first: target.connector.manifest.maxPageSize, after, filter: {} }, ctx());
      models.push(...page.nodes);
      if (!page.hasNextPage) break;
      after = page.endCursor;
    }
    expect(models.length, 'the emulator serves records to check the declaration against').toBeGreaterThan(0);
    const deferred = models.filter((m): m is InvoiceModel | OrderModel => m.entity !== 'Contact' && m.lineItems === null);
    const lineItems = (loader as unknown as Partial<LineItemOwnerLoader<InvoiceModel | OrderModel>>).lineItems;
    if (deferred.length > 0 && lineItems) {
      const slots = await lineItems(deferred, ctx());
      deferred.forEach((m, i) => {
        const slot = slots[i];
        if (!(slot instanceof ConnectorError) && slot) m.lineItems = slot;
      });
    }
    const declared = target.connector.coverage[entity] as Record<string, FieldFill> | undefined;
    expect(declared, `coverage.${entity} is declared`).toBeDefined();
    expect(Object.keys(declared ?? {}).sort()).toEqual(Object.keys(COVERED_FIELDS[entity]).sort());
    expect(coverageViolations(entity, declared ?? {}, models)).toEqual([]);
  });
};

type Fault = Parameters<EmulatorHandle['injectFault']>[0];

/** Injects `fault` on every attempt; list must reject and byIds must report `code` (thrown or per slot). */
async function expectFaultMapped(scope: SuiteScope, entity: EntityType, loader: EntityLoader<EntityModel>, fault: Fault, code: string): Promise<void> {
  const emulator = scope.emulator();
  emulator.injectFault(fault);
  try {
    const c = () => scope.ctx({ upstream: { attemptTimeoutMs: 300, maxAttempts: 2 } });
    await expect(loader.list({ first: 2, filter: {} }, c())).rejects.toMatchObject({ code });
    await expect(settle(loader.byIds(knownOf(scope.target, entity).slice(0, 1), c()))).resolves.toMatchObject({ code });
  } finally {
    emulator.clearFaults();
  }
}

const faultCases: EntityCases = (scope, entity, loader) => {
  const faults: Array<[string, Fault, string]> = [
    ['403', { kind: 'status', status: 403 }, 'UPSTREAM_FORBIDDEN'],
    ['503 on every attempt', { kind: 'status', status: 503 }, 'UPSTREAM_UNAVAILABLE'],
    ['a malformed JSON body', { kind: 'malformed' }, 'UPSTREAM_BAD_RESPONSE'],
    ['no answer (timeout)', { kind: 'timeout' }, 'UPSTREAM_TIMEOUT'],
  ];
  it.each(faults)('maps %s to the right code', (_label, fault, code) => expectFaultMapped(scope, entity, loader, fault, code));
};

const authCases: EntityCases = ({ target, emulator }, entity, loader) => {
  it('maps a bad credential to UPSTREAM_UNAUTHORIZED', async () => {
    const bad = createTestContext({ connector: target.connector, baseUrl: emulator().url, token: 'definitely-not-valid', settings: target.settings });
    await expect(loader.list({ first: 2, filter: {} }, bad)).rejects.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
    await expect(settle(loader.byIds(knownOf(target, entity).slice(0, 1), bad))).resolves.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
  });
};

const rateLimitCases: EntityCases = (scope, entity, loader) => {
  it('maps 429 on every attempt to the right code', () =>
    expectFaultMapped(scope, entity, loader, { kind: 'status', status: 429, retryAfterSeconds: 0 }, 'UPSTREAM_RATE_LIMITED'));

  it('retries a 429 with Retry-After and succeeds', async () => {
    const emulator = scope.emulator();
    emulator.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 0, times: 1 });
    emulator.resetRequests();
    const result = await loader.byIds(knownOf(scope.target, entity).slice(0, 1), scope.ctx());
    expect(result[0]).not.toBeInstanceOf(ConnectorError);
    expect(emulator.requests().some((r) => r.status === 429)).toBe(true);
  });
};

/**
 * The cases every signed-webhook provider shares. Provider specifics (reference vectors, timestamp
 * windows, handshakes, topic mapping) stay in the connector's own webhooks.test.ts.
 */
function webhookCases(connector: Connector, signer: WebhookConformance): void {
  const id = connector.manifest.id;
  const url = signer.url ?? `https://gateway.example/webhooks/${id}/conn_test`;
  const body = Buffer.from(signer.delivery.body, 'utf8');
  const unsigned = signer.delivery.headers ?? {};
  const signatureHeader = connector.manifest.webhooks?.signatureHeader ?? null;
  const request = (overrides: { rawBody?: Buffer; secret?: string; signedWith?: string; dropSignature?: boolean } = {}): WebhookVerifyInput => {
    const now = Date.now();
    const signed = signer.sign({ body, secret: overrides.signedWith ?? signer.secret, url, method: 'POST', now });
    const headers: Record<string, string | undefined> = { ...unsigned, ...signed };
    if (overrides.dropSignature && signatureHeader) delete headers[signatureHeader];
    return { rawBody: overrides.rawBody ?? body, headers, url, method: 'POST', secret: overrides.secret ?? signer.secret, now };
  };
  const webhooks = () => {
    expect(connector.webhooks, `${id} declares no webhooks: implement them or switch the group off with a reason`).toBeDefined();
    return connector.webhooks!;
  };
  const expectInvalid = (input: WebhookVerifyInput) => {
    const result = webhooks().verify(input);
    expect(result).toMatchObject({ ok: false, error: { code: 'WEBHOOK_SIGNATURE_INVALID' } });
    if (!result.ok) expect(result.error.retryable).toBe(false);
  };

  it('accepts a correctly signed delivery', () => {
    expect(webhooks().verify(request())).toEqual({ ok: true, value: undefined });
  });

  it('rejects a tampered body with WEBHOOK_SIGNATURE_INVALID', () => {
    const last = body.length - 1;
    const tampered = Buffer.from(body);
    tampered[last] = tampered[last] === 0x20 ? 0x0a : 0x20;
    expectInvalid(request({ rawBody: Buffer.concat([body, Buffer.from(' ')]) }));
    expectInvalid(request({ rawBody: tampered }));
  });

  it('rejects a delivery signed with another secret with WEBHOOK_SIGNATURE_INVALID', () => {
    expectInvalid(request({ signedWith: `${signer.secret}-other` }));
    expectInvalid(request({ secret: `${signer.secret}-other` }));
  });

  it('rejects a delivery without the signature header with WEBHOOK_SIGNATURE_INVALID', () => {
    expect(signatureHeader, 'manifest.webhooks.signatureHeader names the header to drop').toBeTruthy();
    expectInvalid(request({ dropSignature: true }));
  });

  it('toEvents maps the delivery to valid changes of served entities', () => {
    const result = webhooks().toEvents(body, { ...unsigned });
    expect(result.ok, result.ok ? '' : result.error.message).toBe(true);
    const events = result.ok ? result.value : [];
    expect(events.length).toBeGreaterThan(0);
    for (const event of events) {
      expect(connector.manifest.entities).toContain(event.entity);
      expect(event.eventId).toBeTruthy();
      expect(event.remoteId).toBeTruthy();
      expect(Number.isNaN(Date.parse(event.occurredAt))).toBe(false);
      if (event.model) expect(modelProblems(event.model, id)).toEqual([]);
    }
  });

  it.skipIf(!connector.webhooks?.toEventsWithoutModels)('toEventsWithoutModels agrees with toEvents on everything but the models', () => {
    const lazy = (raw: Buffer) => webhooks().toEventsWithoutModels!(raw);
    const full = webhooks().toEvents(body, { ...unsigned });
    expect(full.ok).toBe(true);
    expect(lazy(body)).toEqual(full.ok ? { ok: true, value: full.value.map((c) => ({ ...c, model: null })) } : full);
    for (const odd of ['{"id":', '', 'null', '[]', '{}', '"text"', '\u0000\u00ff']) {
      const raw = Buffer.from(odd, 'utf8');
      const expected = webhooks().toEvents(raw, { ...unsigned });
      expect(lazy(raw), JSON.stringify(odd)).toEqual(expected.ok ? { ok: true, value: expected.value.map((c) => ({ ...c, model: null })) } : expected);
    }
  });

  it('toEvents answers odd bodies with a Result (malformed JSON: UPSTREAM_BAD_RESPONSE), never a throw', () => {
    for (const odd of ['{"id":', '', 'null', '[]', '{}', '"text"', '\u0000\u00ff']) {
      const raw = Buffer.from(odd, 'utf8');
      expect(() => webhooks().toEvents(raw, { ...unsigned }), JSON.stringify(odd)).not.toThrow();
      expect(() => webhooks().toEvents(raw), JSON.stringify(odd)).not.toThrow();
    }
    expect(webhooks().toEvents(Buffer.from('{"id":'), { ...unsigned })).toMatchObject({ ok: false, error: { code: 'UPSTREAM_BAD_RESPONSE' } });
  });
}

/**
 * byIds may report a whole-call failure by throwing or by putting the error in every slot; both
 * honour the contract. Returns the first error either way.
 */
async function settle(p: Promise<unknown[]>): Promise<unknown> {
  try {
    const slots = await p;
    return slots.find((s) => s instanceof ConnectorError) ?? slots[0];
  } catch (err) {
    return err;
  }
}
