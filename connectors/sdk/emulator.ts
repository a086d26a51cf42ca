// Shared plumbing for provider emulators: an HTTP server on loopback with routing, request
// counting, fault injection and latency, and the admin API (its contract: ./emulator-kit/index.ts).
// Each connector's emulator/ supplies the provider's routes, auth check and error body shape;
// everything provider-neutral lives here and in ./emulator-kit/ once.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { ADMIN_PREFIX, adminError, adminRoutes, runAdmin, type ProviderAdmin } from './emulator-kit/admin.ts';

export type { EmulatorReply, EmulatorRequest, EmulatorRoute, FaultKind, FaultSpec, RecordedRequest } from './emulator-kit/wire.ts';
import type { EmulatorReply, EmulatorRequest, EmulatorRoute, FaultSpec, RecordedRequest } from './emulator-kit/wire.ts';
import { pushBounded } from './emulator-kit/wire.ts';

export interface EmulatorOptions {
  name: string;
  routes: EmulatorRoute[];
  /** Returns a reply to reject the request (401/403), or null to let it through. */
  authenticate?: (req: EmulatorRequest) => EmulatorReply | null;
  /** The provider's error body for a status, e.g. HubSpot's {status:'error',category,...}. */
  errorBody: (status: number, message: string, req: EmulatorRequest) => unknown;
  /** The credential a request carries (bearer token, API key), recorded in the request log. */
  credentialOf?: (req: EmulatorRequest) => string | null;
  /** Extra headers on every counted answer (rate-limit headers). */
  commonHeaders?: (req: EmulatorRequest, operation: string) => Record<string, string>;
  /** Latency added to every counted request, like a real API's network + processing time. */
  latencyMs?: number;
  port?: number;
  host?: string;
  /** The provider's part of the admin API under /__emulator: records, webhook target, OAuth, reset. */
  admin?: ProviderAdmin;
}

export interface EmulatorHandle {
  readonly name: string;
  readonly url: string;
  readonly port: number;
  stop(): Promise<void>;
  /**
   * Every answered provider request since the last reset (admin calls are not counted), the newest
   * REQUEST_LOG_LIMIT of them: a demo left running keeps bounded memory.
   */
  requests(): RecordedRequest[];
  /** Number of requests, optionally only those of one operation. */
  count(operation?: string): number;
  resetRequests(): void;
  injectFault(spec: FaultSpec): void;
  clearFaults(): void;
  setLatency(ms: number): void;
  /** POST /__emulator/reset: request log, faults, latency and the provider's transient state. */
  reset(): void;
}

interface CompiledRoute extends EmulatorRoute {
  regex: RegExp;
  keys: string[];
}

function compile(route: EmulatorRoute): CompiledRoute {
  const keys: string[] = [];
  const source = route.path
    .split('/')
    .map((seg) => {
      if (seg.startsWith(':')) {
        keys.push(seg.slice(1));
        return '([^/]+)';
      }
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    })
    .join('/');
  return { ...route, regex: new RegExp(`^${source}/?$`), keys };
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

function send(res: ServerResponse, reply: EmulatorReply): void {
  const isString = typeof reply.body === 'string';
  const payload = reply.body === undefined ? '' : isString ? (reply.body as string) : JSON.stringify(reply.body);
  const headers: Record<string, string> = { ...(reply.headers ?? {}) };
  if (payload !== '' && !Object.keys(headers).some((h) => h.toLowerCase() === 'content-type')) {
    headers['content-type'] = isString ? 'text/plain; charset=utf-8' : 'application/json;charset=utf-8';
  }
  res.writeHead(reply.status, headers);
  res.end(payload);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Requests an emulator remembers (tests reset long before; the demo's pollers would grow it forever). */
export const REQUEST_LOG_LIMIT = 100_000;

export async function startEmulator(options: EmulatorOptions): Promise<EmulatorHandle> {
  const routes = options.routes.map(compile);
  let latencyMs = options.latencyMs ?? 0;
  let faults: Array<FaultSpec & { remaining: number }> = [];
  let recorded: RecordedRequest[] = [];
  const sockets = new Set<Socket>();

  const takeFault = (operation: string, path: string): FaultSpec | null => {
    for (const f of faults) {
      if (f.remaining <= 0) continue;
      if (f.match && f.match !== operation && !new RegExp(f.match).test(path)) continue;
      f.remaining -= 1;
      return f;
    }
    return null;
  };

  const admin = async (req: EmulatorRequest): Promise<EmulatorReply> => {
    let pathMatched = false;
    for (const r of adminTable) {
      const m = r.regex.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method) continue;
      r.keys.forEach((k, i) => (req.params[k] = decodeURIComponent(m[i + 1] ?? '')));
      return runAdmin(r.handler, req);
    }
    return pathMatched
      ? adminError(405, `${req.method} is not allowed on ${req.path}`)
      : adminError(404, `unknown emulator admin route ${req.method} ${req.path}`);
  };

  // Built lazily: the routes call the handle, which exists once the server listens.
  let adminTable: CompiledRoute[] = [];
  const server = createServer(async (httpReq, res) => {
    try {
      const url = new URL(httpReq.url ?? '/', 'http://emulator.local');
      const rawBody = await readBody(httpReq);
      const req: EmulatorRequest = {
        method: httpReq.method ?? 'GET',
        path: url.pathname,
        url,
        query: url.searchParams,
        headers: httpReq.headers,
        rawBody,
        params: {},
      };
      if (url.pathname.startsWith(ADMIN_PREFIX)) return send(res, await admin(req));

      let route: CompiledRoute | undefined;
      for (const r of routes) {
        if (r.method !== req.method) continue;
        const m = r.regex.exec(url.pathname);
        if (!m) continue;
        route = r;
        r.keys.forEach((k, i) => (req.params[k] = decodeURIComponent(m[i + 1] ?? '')));
        break;
      }
      const operation = route ? route.operation.replace(/\{(\w+)\}/g, (_, k: string) => req.params[k] ?? k) : 'unmatched';
      const record = (status: number) =>
        pushBounded(
          recorded,
          { method: req.method, path: req.path, operation, status, at: Date.now(), credential: options.credentialOf?.(req) ?? null },
          REQUEST_LOG_LIMIT,
        );

      if (latencyMs > 0) await sleep(latencyMs);
      const fault = takeFault(operation, req.path);
      if (fault) {
        if (fault.kind === 'latency') await sleep(fault.latencyMs ?? 0);
        else if (fault.kind === 'timeout') {
          record(0);
          return; // never answer; the client's timeout (or stop()) ends it
        } else if (fault.kind === 'reset') {
          record(0);
          httpReq.socket.destroy();
          return;
        } else if (fault.kind === 'malformed') {
          record(200);
          return send(res, { status: 200, headers: { 'content-type': 'application/json;charset=utf-8' }, body: '{"results":[{"id":' });
        } else if (fault.kind === 'status') {
          const status = fault.status ?? 500;
          const headers: Record<string, string> = { ...(options.commonHeaders?.(req, operation) ?? {}) };
          if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
          record(status);
          return send(res, { status, headers, body: options.errorBody(status, `injected fault ${status}`, req) });
        }
      }

      if (!route) {
        record(404);
        return send(res, { status: 404, body: options.errorBody(404, `No route for ${req.method} ${req.path}`, req) });
      }
      const denied = options.authenticate?.(req);
      if (denied) {
        record(denied.status);
        return send(res, denied);
      }
      const reply = await route.handler(req);
      record(reply.status);
      send(res, { ...reply, headers: { ...(options.commonHeaders?.(req, operation) ?? {}), ...(reply.headers ?? {}) } });
    } catch (err) {
      if (!res.headersSent) {
        send(res, { status: 500, body: { message: `emulator bug: ${(err as Error).message}` } });
      }
    }
  });
  server.on('connection', (s: Socket) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;

  const handle: EmulatorHandle = {
    name: options.name,
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
    requests: () => recorded.slice(),
    count: (operation) => (operation ? recorded.filter((r) => r.operation === operation).length : recorded.length),
    resetRequests: () => {
      recorded = [];
    },
    injectFault: (spec) => {
      faults.push({ ...spec, remaining: spec.times ?? Number.POSITIVE_INFINITY });
    },
    clearFaults: () => {
      faults = [];
    },
    setLatency: (ms) => {
      latencyMs = ms;
    },
    reset: () => {
      recorded = [];
      faults = [];
      latencyMs = options.latencyMs ?? 0;
      options.admin?.reset?.();
    },
  };
  adminTable = adminRoutes(handle, options.admin).map((r) => compile({ ...r, path: ADMIN_PREFIX + r.path }));
  return handle;
}

/** Deterministic PRNG (mulberry32) so seeded demo data is the same on every run and machine. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What every provider emulator's start function accepts (connectors/<id>/emulator/index.ts). */
export interface ProviderEmulatorOptions {
  /** Tokens / secret keys the emulator accepts as valid credentials. */
  credentials: string[];
  /** Added to every request, like a real API's round trip (benchmarks use ~20 ms). */
  latencyMs?: number;
  port?: number;
  /** Seed for the deterministic data set; two emulators with one seed hold the same records. */
  seed?: number;
  /**
   * Where the emulator delivers the provider's webhooks when its data changes (admin mutations),
   * signed with the provider's real scheme. Can also be set at runtime: PUT /__emulator/webhook.
   */
  webhook?: EmulatorWebhookTarget;
  /** Override the demo data volume (tests use small sets). */
  scale?: { contacts?: number; invoices?: number; orders?: number };
  /** Requests per second the emulator allows per credential before answering 429 (provider's real limit by default). */
  rateLimitPerSecond?: number;
  /**
   * OAuth apps registered at the emulated provider, in a provider-neutral shape (the demo and
   * the registry use it; each emulator also has its own richer `oauth` option). Providers whose
   * client authenticates with something else (Stripe: the platform's secret key) ignore clientSecret.
   */
  oauthClients?: Array<{ clientId: string; clientSecret: string; redirectUris: string[]; scopes?: string[] }>;
}

export interface EmulatorWebhookTarget {
  url: string;
  /** HubSpot: the app's client secret; Stripe: the endpoint's whsec_… secret. */
  secret: string;
  /**
   * Delays between redeliveries after a non-2xx or a network error. Providers retry for hours or
   * days; emulators compress the schedule so tests can watch it (default: 1 s, 2 s, 4 s, 8 s, 16 s).
   */
  retryDelaysMs?: number[];
  /** Parallel POSTs to this target (HubSpot's throttling.maxConcurrentRequests; Stripe refuses it). */
  maxConcurrentRequests?: number;
}

/** Signature of every emulator's start function. */
export type StartProviderEmulator = (options: ProviderEmulatorOptions) => Promise<EmulatorHandle>;
