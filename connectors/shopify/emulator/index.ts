// A Shopify GraphQL Admin API look-alike for tests, benchmarks and the demo: POST
// /admin/api/{version}/graphql.json served by graphql-js over a seeded shop, with Shopify's query
// cost and leaky bucket (extensions.cost on every answer, THROTTLED as HTTP 200), its 401 body,
// per-shop OAuth, signed webhooks and the kit's admin API. See ../README.md.
import { randomUUID } from 'node:crypto';
import { GraphQLError, execute, parse, validate, type DocumentNode, type FragmentDefinitionNode, type OperationDefinitionNode, Kind } from 'graphql';
import {
  startEmulator as startBaseEmulator,
  type EmulatorHandle,
  type EmulatorReply,
  type EmulatorRequest,
  type ProviderEmulatorOptions,
  type StartProviderEmulator,
} from '../../sdk/emulator.ts';
import { webhookHandle, type EmulatorWebhookHandle } from '../../sdk/emulator-kit/index.ts';
import { ACCESS_TOKEN_HEADER } from '../client.ts';
import { actualCost, CostBuckets, requestedCost, type CostInput } from './cost.ts';
import { ShopifyOAuth, type ShopifyOAuthClient } from './oauth.ts';
import { ShopRecords, type RecordType } from './records.ts';
import { buildShopSchema } from './schema.ts';
import { DEFAULT_SCALE, DEFAULT_SEED, EMULATOR_SHOP, ShopStore } from './store.ts';
import { shopifyWebhookSender, webhookItem, type ShopifyWebhookDelivery } from './webhooks.ts';

export { ShopStore, EMULATOR_SHOP, SHARED_PEOPLE, SHARED_PEOPLE_FROM, DEFAULT_SCALE, DEFAULT_SEED, restOrder, restCustomer } from './store.ts';
export { CostBuckets } from './cost.ts';
export type { ShopifyWebhookDelivery } from './webhooks.ts';

/** Standard plan: a 1000-point bucket restoring 100 points a second. */
export const DEFAULT_BUCKET = { maximumAvailable: 1000, restoreRate: 100 };
export const MAX_SINGLE_QUERY_COST = 1000;
export const INVALID_TOKEN_MESSAGE = '[API] Invalid API key or access token (unrecognized login or wrong password)';
const VERSION = /^(\d{4}-(01|04|07|10)|unstable)$/;

export interface ShopifyEmulatorOptions extends ProviderEmulatorOptions {
  /** The plan's bucket (Advanced: restoreRate 200, Plus: 1000). */
  bucket?: { maximumAvailable: number; restoreRate: number };
  shop?: string;
}

export interface ShopifyEmulatorHandle extends EmulatorHandle, EmulatorWebhookHandle<{ topic: string; webhookId: string; eventId: string }> {
  readonly store: ShopStore;
  readonly shop: string;
  readonly buckets: CostBuckets;
  readonly oauth: ShopifyOAuth;
  createRecord(type: RecordType, fields: Record<string, unknown>): Record<string, unknown>;
  updateRecord(type: RecordType, id: string, fields: Record<string, unknown>): Record<string, unknown>;
  deleteRecord(type: RecordType, id: string): Record<string, unknown>;
  /** Sends a mandatory compliance webhook (customers/redact, shop/redact, customers/data_request). */
  sendCompliance(topic: 'customers/redact' | 'shop/redact' | 'customers/data_request', payload: Record<string, unknown>): void;
}

const JSON_HEADERS = { 'content-type': 'application/json; charset=utf-8' };

function header(req: EmulatorRequest, name: string): string | undefined {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v)?.trim() || undefined;
}

/** Shopify's body for a non-GraphQL failure (REST style). */
function errorBody(status: number): unknown {
  if (status === 401) return { errors: INVALID_TOKEN_MESSAGE };
  if (status === 403) return { errors: '[API] This action requires merchant approval for read_orders scope.' };
  if (status === 404) return { errors: 'Not Found' };
  if (status === 429) return { errors: 'Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service.' };
  if (status >= 500) return { errors: 'Internal Server Error' };
  return { errors: 'Bad Request' };
}

export async function startEmulator(options: ShopifyEmulatorOptions): Promise<ShopifyEmulatorHandle> {
  const shop = options.shop ?? EMULATOR_SHOP;
  const store = new ShopStore(options.seed ?? DEFAULT_SEED, {
    contacts: options.scale?.contacts ?? DEFAULT_SCALE.contacts,
    orders: options.scale?.orders ?? DEFAULT_SCALE.orders,
  });
  const schema = buildShopSchema(store);
  // rateLimitPerSecond (the kit's option) is the restore rate in points per second here.
  const buckets = new CostBuckets(options.bucket ?? { ...DEFAULT_BUCKET, restoreRate: options.rateLimitPerSecond ?? DEFAULT_BUCKET.restoreRate });
  const credentials = new Set(options.credentials);
  const clients: ShopifyOAuthClient[] = (options.oauthClients ?? []).map((c) => ({
    clientId: c.clientId,
    clientSecret: c.clientSecret,
    redirectUris: c.redirectUris,
  }));
  const oauth = new ShopifyOAuth(clients, shop);
  const records = new ShopRecords(store);

  const sender = shopifyWebhookSender(shop);
  // Shopify signs with the app's client secret; a target without a secret uses the registered app's.
  const setTarget = (input: unknown) => {
    const secret = oauth.soleClientSecret();
    const withSecret = input && typeof input === 'object' && !('secret' in input) && secret ? { ...input, secret } : input;
    sender.setTarget(withSecret);
  };
  if (options.webhook) setTarget(options.webhook);
  const unsubscribe = store.onChange((topic, payload) => {
    const { __eventId, ...body } = payload;
    sender.enqueue([webhookItem(topic, body, String(__eventId))]);
  });

  const tokenOf = (req: EmulatorRequest) => header(req, ACCESS_TOKEN_HEADER) ?? null;
  const authenticate = (req: EmulatorRequest): EmulatorReply | null => {
    if (req.path.startsWith('/admin/oauth/')) return null;
    const token = tokenOf(req);
    if (token && (credentials.has(token) || oauth.accepts(token))) return null;
    return { status: 401, headers: JSON_HEADERS, body: errorBody(401) };
  };

  const graphql = (req: EmulatorRequest): EmulatorReply => {
    const version = req.params['version'] ?? '';
    if (!VERSION.test(version)) return { status: 404, headers: JSON_HEADERS, body: errorBody(404) };
    const headers = { ...JSON_HEADERS, 'x-shopify-api-version': version };
    const key = tokenOf(req) ?? '';
    const reply = (body: Record<string, unknown>): EmulatorReply => ({ status: 200, headers, body });
    let request: { query?: unknown; variables?: unknown; operationName?: unknown };
    try {
      request = JSON.parse(req.rawBody.toString('utf8')) as typeof request;
    } catch {
      return { status: 400, headers, body: { errors: { query: 'Required parameter missing or invalid' } } };
    }
    if (typeof request?.query !== 'string') return { status: 400, headers, body: { errors: { query: 'Required parameter missing or invalid' } } };
    let document: DocumentNode;
    try {
      document = parse(request.query);
    } catch (err) {
      return reply({ errors: [{ message: (err as GraphQLError).message, extensions: { code: 'PARSE_ERROR' } }] });
    }
    const invalid = validate(schema, document);
    if (invalid.length)
      return reply({ errors: invalid.map((e) => ({ message: e.message, locations: e.locations, extensions: { code: 'GRAPHQL_VALIDATION_FAILED' } })) });
    const operation = document.definitions.find(
      (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION && (!request.operationName || d.name?.value === request.operationName),
    );
    if (!operation || operation.operation !== 'query') return reply({ errors: [{ message: 'Only queries are served by the emulator.' }] });
    const variables = (request.variables && typeof request.variables === 'object' ? request.variables : {}) as Record<string, unknown>;
    const fragments = Object.fromEntries(
      document.definitions.filter((d): d is FragmentDefinitionNode => d.kind === Kind.FRAGMENT_DEFINITION).map((d) => [d.name.value, d]),
    );
    const costInput: CostInput = { schema, fragments, variables };
    const root = schema.getQueryType()!;
    const requested = requestedCost(costInput, root, operation.selectionSet);
    const costOf = (actual: number | null) => ({ cost: { requestedQueryCost: requested, actualQueryCost: actual, throttleStatus: buckets.status(key) } });
    if (requested > MAX_SINGLE_QUERY_COST) {
      return reply({
        errors: [
          {
            message: `Query cost is ${requested}, which exceeds the single query max cost limit (${MAX_SINGLE_QUERY_COST}).`,
            extensions: { code: 'MAX_COST_EXCEEDED', cost: requested, maxCost: MAX_SINGLE_QUERY_COST },
          },
        ],
        extensions: costOf(null),
      });
    }
    if (!buckets.take(key, requested)) {
      return reply({
        errors: [{ message: 'Throttled', extensions: { code: 'THROTTLED', documentation: 'https://shopify.dev/api/usage/rate-limits' } }],
        extensions: costOf(null),
      });
    }
    const result = execute({
      schema,
      document,
      variableValues: variables,
      operationName: typeof request.operationName === 'string' ? request.operationName : undefined,
    }) as Awaited<ReturnType<typeof execute>>;
    const actual = actualCost(costInput, root, operation.selectionSet, result.data as Record<string, unknown> | null);
    buckets.refund(key, requested - actual);
    const body: Record<string, unknown> = { data: result.data ?? null };
    if (result.errors?.length)
      body['errors'] = result.errors.map((e) => ({
        message: e.message,
        locations: e.locations,
        path: e.path,
        extensions: { code: 'BAD_REQUEST', ...e.extensions },
      }));
    body['extensions'] = costOf(actual);
    return reply(body);
  };

  const base = await startBaseEmulator({
    name: 'shopify',
    routes: [...oauth.routes(), { method: 'POST', path: '/admin/api/:version/graphql.json', operation: 'graphql', handler: graphql }],
    admin: {
      records,
      webhooks: { setTarget, describeTarget: () => sender.describeTarget(), state: () => sender.state(), deliveries: () => sender.deliveries() },
      oauth,
      reset: () => {
        buckets.reset();
        sender.clearLog();
        oauth.book.resetGrants();
      },
    },
    authenticate,
    credentialOf: tokenOf,
    latencyMs: options.latencyMs,
    port: options.port,
    errorBody: (status) => errorBody(status),
  });
  const stopBase = base.stop.bind(base);
  return Object.assign(base, webhookHandle(sender), {
    store,
    shop,
    buckets,
    oauth,
    setWebhook: setTarget,
    async stop() {
      unsubscribe();
      await sender.stop();
      await stopBase();
    },
    createRecord: (type: RecordType, fields: Record<string, unknown>) => records.create(type, fields) as Record<string, unknown>,
    updateRecord: (type: RecordType, id: string, fields: Record<string, unknown>) => records.update(type, id, fields) as Record<string, unknown>,
    deleteRecord: (type: RecordType, id: string) => records.delete(type, id) as Record<string, unknown>,
    sendCompliance: (topic: 'customers/redact' | 'shop/redact' | 'customers/data_request', payload: Record<string, unknown>) => {
      sender.enqueue([webhookItem(topic, { shop_domain: shop, ...payload }, randomUUID())]);
    },
  });
}

startEmulator satisfies StartProviderEmulator;
