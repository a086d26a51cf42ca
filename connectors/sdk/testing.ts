// The conformance suite every connector runs against its emulator (connectors/<id>/conformance.test.ts),
// and the test context helper. One suite, many connectors: a new connector is done when it passes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UpstreamClient, DEFAULT_UPSTREAM_OPTIONS, type UpstreamOptions } from '../../src/upstream/client.ts';
import { validateManifest } from './define.ts';
import type { EmulatorHandle, ProviderEmulatorOptions } from './emulator.ts';
import { ConnectorError } from './errors.ts';
import type { EntityModel, EntityModelMap, EntityType, InvoiceModel, LineItemModel, OrderModel } from './models.ts';
import type { Connector, ConnectorContext, EntityLoader, LineItemOwnerLoader } from './types.ts';
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
}

export interface TestContext extends ConnectorContext {
  /** Everything the connector primed, in order. */
  primed: Array<{ entity: EntityType; model: EntityModel }>;
}

const silentLog = { debug() {}, info() {}, warn() {}, error() {} };

/** A ConnectorContext backed by the real fetch wrapper (retries, breaker, timeouts), for tests. */
export function createTestContext(options: TestContextOptions): TestContext {
  const upstream = new UpstreamClient(null, { ...DEFAULT_UPSTREAM_OPTIONS, baseDelayMs: 5, maxDelayMs: 50, ...options.upstream }, options.fetchImpl);
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

export interface ConformanceTarget {
  connector: Connector;
  startEmulator: (options: ProviderEmulatorOptions) => Promise<EmulatorHandle>;
  /** A credential the emulator accepts. */
  token: string;
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
}

export function runConformanceSuite(target: ConformanceTarget): void {
  const { connector } = target;
  const id = connector.manifest.id;

  describe(`connector conformance: ${id}`, () => {
    let emulator: EmulatorHandle;
    beforeAll(async () => {
      emulator = await target.startEmulator({ credentials: [target.token], seed: 7, ...target.emulatorOptions });
    });
    afterAll(async () => {
      await emulator?.stop();
    });
    const ctx = (extra: Partial<TestContextOptions> = {}) => createTestContext({ connector, baseUrl: emulator.url, token: target.token, ...extra });

    it('has a valid manifest', () => {
      expect(validateManifest(connector)).toEqual([]);
    });

    it.each(target.fixtures.map((f) => [f.name, f] as const))('maps recorded fixture %s to a valid model', (_name, fixture) => {
      const model = fixture.map(fixture.raw);
      expect(model.entity).toBe(fixture.entity);
      expect(modelProblems(model, id)).toEqual([]);
    });

    for (const entity of connector.manifest.entities) {
      const loader = connector.loaders[entity] as EntityLoader<EntityModelMap[typeof entity]>;
      const known = target.knownIds[entity] ?? [];
      const missing = target.missingId[entity] ?? 'missing-id-0';

      describe(entity, () => {
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
          emulator.resetRequests();
          try {
            const ids = [...known, missing];
            await loader.byIds(ids, ctx({ fetchImpl: counting }));
            const max = connector.manifest.maxBatchSize[entity] ?? 1;
            const perBatch = target.callsPerBatch?.[entity] ?? 1;
            const upstreamCalls = emulator.count();
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
          const lineItems = (loader as LineItemOwnerLoader<InvoiceModel | OrderModel>).lineItems;
          expect(lineItems, `${entity} records defer lineItems, so loaders.${entity}.lineItems must exist`).toBeTypeOf('function');
          const slots = await lineItems!(deferred, ctx());
          expect(slots).toHaveLength(deferred.length);
          slots.forEach((slot, i) => {
            expect(slot).not.toBeInstanceOf(ConnectorError);
            expect(modelProblems({ ...deferred[i]!, lineItems: slot as LineItemModel[] }, id)).toEqual([]);
          });
        });

        it('list paginates to the end with round-tripping cursors and no duplicates', async () => {
          const seen = new Set<string>();
          let after: string | null = null;
          let pages = 0;
          for (;;) {
            const page = await loader.list({ first: 7, after, filter: {} }, ctx());
            pages++;
            expect(page.nodes.length).toBeLessThanOrEqual(7);
            for (const node of page.nodes) {
              expect(modelProblems(node, id)).toEqual([]);
              expect(seen.has(node.source.remoteId)).toBe(false);
              seen.add(node.source.remoteId);
            }
            if (!page.hasNextPage) break;
            expect(page.endCursor).toBeTruthy();
            after = page.endCursor;
            expect(pages).toBeLessThan(500);
          }
          for (const k of known) expect(seen.has(k)).toBe(true);
        });

        it('maps a bad credential to UPSTREAM_UNAUTHORIZED', async () => {
          const bad = createTestContext({ connector, baseUrl: emulator.url, token: 'definitely-not-valid' });
          await expect(loader.list({ first: 2, filter: {} }, bad)).rejects.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
          await expect(settle(loader.byIds(known.slice(0, 1), bad))).resolves.toMatchObject({ code: 'UPSTREAM_UNAUTHORIZED' });
        });

        const faults: Array<[string, Parameters<EmulatorHandle['injectFault']>[0], string]> = [
          ['403', { kind: 'status', status: 403 }, 'UPSTREAM_FORBIDDEN'],
          ['429 on every attempt', { kind: 'status', status: 429, retryAfterSeconds: 0 }, 'UPSTREAM_RATE_LIMITED'],
          ['503 on every attempt', { kind: 'status', status: 503 }, 'UPSTREAM_UNAVAILABLE'],
          ['a malformed JSON body', { kind: 'malformed' }, 'UPSTREAM_BAD_RESPONSE'],
          ['no answer (timeout)', { kind: 'timeout' }, 'UPSTREAM_TIMEOUT'],
        ];
        it.each(faults)('maps %s to the right code', async (_label, fault, code) => {
          emulator.injectFault(fault);
          try {
            const c = () => ctx({ upstream: { attemptTimeoutMs: 300, maxAttempts: 2 } });
            await expect(loader.list({ first: 2, filter: {} }, c())).rejects.toMatchObject({ code });
            await expect(settle(loader.byIds(known.slice(0, 1), c()))).resolves.toMatchObject({ code });
          } finally {
            emulator.clearFaults();
          }
        });

        it('retries a 429 with Retry-After and succeeds', async () => {
          emulator.injectFault({ kind: 'status', status: 429, retryAfterSeconds: 0, times: 1 });
          emulator.resetRequests();
          const result = await loader.byIds(known.slice(0, 1), ctx());
          expect(result[0]).not.toBeInstanceOf(ConnectorError);
          expect(emulator.requests().some((r) => r.status === 429)).toBe(true);
        });
      });
    }
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
