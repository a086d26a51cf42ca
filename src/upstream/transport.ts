// How one upstream request reaches the network. The default is undici's request API on a
// keep-alive pool rather than fetch: fetch wraps every exchange in WHATWG Request/Headers/Response
// objects and web streams, and the client reads each body whole as text anyway. On a 57 KB JSON
// answer over loopback that wrapping cost 0.18 ms (GET) and 0.28 ms (POST) of CPU per call, about
// a tenth of a cold three-call query's own work (docs/benchmarks.md, "Session 10").
//
// What fetch did for us is kept: answers in gzip, deflate or br are decompressed (the size cap
// counts decompressed bytes, so a small compressed body cannot expand past it), and redirects are
// followed, with Authorization and cookies dropped when the redirect leaves the origin.
import { pipeline, type Transform } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { Agent, interceptors, request, type Dispatcher } from 'undici';

export interface TransportRequest {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: string | undefined;
  signal: AbortSignal;
  /** The pool to send through (address-checked requests have their own); default: the transport's. */
  dispatcher?: Dispatcher | undefined;
  /** Largest body read, decompressed; beyond it `text` is null and the rest is not read. */
  maxBodyBytes: number;
}

export interface TransportResponse {
  status: number;
  headers: Headers;
  /** The body as text; null when it exceeded maxBodyBytes. */
  text: string | null;
}

export type Transport = (request: TransportRequest) => Promise<TransportResponse>;

/** Redirect hops followed, as fetch would (it allows 20; an API answering more than a few is broken). */
const MAX_REDIRECTS = 5;

/** A pool that follows redirects (cross-origin hops lose Authorization, Cookie and Proxy-Authorization). */
export function redirectingPool(agent: Agent): Dispatcher {
  return agent.compose(interceptors.redirect({ maxRedirections: MAX_REDIRECTS }));
}

let sharedPool: Dispatcher | null = null;
/** The process's pool for requests without an address check, like fetch's global dispatcher. */
function defaultPool(): Dispatcher {
  return (sharedPool ??= redirectingPool(new Agent()));
}

const DECODERS: Record<string, () => Transform> = {
  gzip: createGunzip,
  'x-gzip': createGunzip,
  deflate: createInflate,
  br: createBrotliDecompress,
};
const ACCEPT_ENCODING = 'gzip, deflate, br';

/** undici's request API: the gateway's transport. */
export function undiciTransport(): Transport {
  return async ({ url, method, headers, body, signal, dispatcher, maxBodyBytes }) => {
    const sent = Object.keys(headers).some((name) => name.toLowerCase() === 'accept-encoding') ? headers : { ...headers, 'accept-encoding': ACCEPT_ENCODING };
    const res = await request(url, { method: method as Dispatcher.HttpMethod, headers: sent, body, signal, dispatcher: dispatcher ?? defaultPool() });
    // No body to decode on these, whatever the headers say (fetch skips them too).
    const bodiless = method === 'HEAD' || res.statusCode === 204 || res.statusCode === 304;
    const encoding = bodiless ? undefined : single(res.headers['content-encoding'])?.trim().toLowerCase();
    const decoder = encoding ? DECODERS[encoding] : undefined;
    let stream: AsyncIterable<Uint8Array> = res.body;
    if (decoder) {
      const decoded = decoder();
      // pipeline destroys both on an error of either, so a failed read ends the loop below.
      pipeline(res.body, decoded, () => undefined);
      stream = decoded;
    }
    return { status: res.statusCode, headers: toHeaders(res.headers), text: await readUpTo(stream, maxBodyBytes) };
  };
}

/** A fetch-compatible function as the transport (tests that count or rewrite calls inject one). */
export function fetchTransport(fetchImpl: typeof fetch): Transport {
  return async ({ url, method, headers, body, signal, dispatcher, maxBodyBytes }) => {
    const res = await fetchImpl(url, { method, headers, body, signal, ...(dispatcher ? { dispatcher } : {}) } as RequestInit);
    return { status: res.status, headers: res.headers, text: res.body ? await readUpTo(res.body as unknown as AsyncIterable<Uint8Array>, maxBodyBytes) : '' };
  };
}

/**
 * A body as text, or null once it exceeds `max` bytes. Leaving the loop early ends the iteration,
 * which destroys a Node stream (and, through pipeline, the socket's body under a decoder) or
 * cancels a web stream: the rest is not read.
 */
async function readUpTo(body: AsyncIterable<Uint8Array>, max: number): Promise<string | null> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += chunk.byteLength;
    if (size > max) return null;
    chunks.push(chunk);
  }
  const whole = chunks.length === 1 ? (chunks[0] as Uint8Array) : Buffer.concat(chunks, size);
  return Buffer.from(whole.buffer, whole.byteOffset, whole.byteLength).toString('utf8');
}

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function toHeaders(raw: Record<string, string | string[] | undefined>): Headers {
  const headers = new Headers();
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) headers.append(name, v);
    else headers.append(name, value);
  }
  return headers;
}
