import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { brotliCompressSync, deflateSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fetchTransport, undiciTransport, type TransportRequest } from './transport.ts';

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

async function listen(handler: Handler): Promise<{ server: Server; url: string }> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

const DOC = JSON.stringify({ results: Array.from({ length: 200 }, (_, i) => ({ id: String(i), name: `Record ${i}` })) });
const ENCODERS: Record<string, (b: Buffer) => Buffer> = { gzip: gzipSync, deflate: deflateSync, br: brotliCompressSync };

describe('undiciTransport', () => {
  const transport = undiciTransport();
  let main: { server: Server; url: string };
  let other: { server: Server; url: string };
  /** What each server last received: its path and headers. */
  const seen: Array<{ server: string; path: string; headers: IncomingMessage['headers'] }> = [];

  beforeAll(async () => {
    other = await listen((req, res) => {
      seen.push({ server: 'other', path: req.url!, headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"landed":"other"}');
    });
    main = await listen((req, res) => {
      seen.push({ server: 'main', path: req.url!, headers: req.headers });
      const url = new URL(req.url!, 'http://x');
      const encoding = url.searchParams.get('encoding');
      if (url.pathname === '/encoded' && encoding) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-encoding': encoding }).end(ENCODERS[encoding]!(Buffer.from(DOC)));
      } else if (url.pathname === '/bomb') {
        // 1 MB of spaces compresses to ~1 KB.
        res.writeHead(200, { 'content-encoding': 'gzip' }).end(gzipSync(Buffer.alloc(1 << 20, ' ')));
      } else if (url.pathname === '/empty') {
        res.writeHead(204, { 'content-encoding': 'gzip' }).end();
      } else if (url.pathname === '/moved') {
        res.writeHead(302, { location: '/plain' }).end();
      } else if (url.pathname === '/away') {
        res.writeHead(302, { location: `${other.url}/elsewhere` }).end();
      } else if (url.pathname === '/multi') {
        res.setHeader('x-many', ['a', 'b']);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      } else if (url.pathname === '/slow') {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.write('{"partial":'); // never ends: only the signal stops the read
      } else {
        res.writeHead(200, { 'content-type': 'application/json' }).end('{"plain":true}');
      }
    });
  });
  afterAll(async () => {
    for (const s of [main.server, other.server]) {
      s.closeAllConnections();
      await new Promise((resolve) => s.close(resolve));
    }
  });

  const send = (path: string, extra: Partial<TransportRequest> = {}) =>
    transport({
      url: `${main.url}${path}`,
      method: 'GET',
      headers: { accept: 'application/json', authorization: 'Bearer secret-token' },
      body: undefined,
      signal: new AbortController().signal,
      maxBodyBytes: 1 << 20,
      ...extra,
    });

  it.each(['gzip', 'deflate', 'br'])('asks for compressed answers and decodes %s', async (encoding) => {
    const res = await send(`/encoded?encoding=${encoding}`);
    expect(res.status).toBe(200);
    expect(res.text).toBe(DOC);
    expect(seen.at(-1)!.headers['accept-encoding']).toBe('gzip, deflate, br');
  });

  it('leaves an Accept-Encoding the caller set as it is', async () => {
    await send('/plain', { headers: { 'Accept-Encoding': 'identity' } });
    expect(seen.at(-1)!.headers['accept-encoding']).toBe('identity');
  });

  it('counts the cap in decompressed bytes', async () => {
    expect((await send('/bomb', { maxBodyBytes: 64 * 1024 })).text).toBeNull();
    expect((await send('/bomb', { maxBodyBytes: 2 << 20 })).text).toHaveLength(1 << 20);
  });

  it('reads no body from a 204, whatever its Content-Encoding says', async () => {
    const res = await send('/empty');
    expect(res).toMatchObject({ status: 204, text: '' });
  });

  it('follows a redirect on the same origin with the credentials', async () => {
    const res = await send('/moved');
    expect(res).toMatchObject({ status: 200, text: '{"plain":true}' });
    expect(seen.at(-1)).toMatchObject({ server: 'main', path: '/plain' });
    expect(seen.at(-1)!.headers.authorization).toBe('Bearer secret-token');
  });

  it('drops Authorization when a redirect leaves the origin', async () => {
    const res = await send('/away');
    expect(res).toMatchObject({ status: 200, text: '{"landed":"other"}' });
    expect(seen.at(-1)).toMatchObject({ server: 'other', path: '/elsewhere' });
    expect(seen.at(-1)!.headers.authorization).toBeUndefined();
  });

  it('answers with a Headers object, repeated headers joined', async () => {
    const res = await send('/multi');
    expect(res.headers).toBeInstanceOf(Headers);
    expect(res.headers.get('x-many')).toBe('a, b');
    expect(res.headers.get('Content-Type')).toBe('application/json');
  });

  it('stops reading a body when the signal aborts', async () => {
    const abort = new AbortController();
    const pending = send('/slow', { signal: abort.signal });
    // Aborted once the server has the request: the answer's head is sent, its body never ends.
    await expect.poll(() => seen.at(-1)?.path).toBe('/slow');
    abort.abort(new Error('caller went away'));
    await expect(pending).rejects.toThrow();
  });
});

describe('reading a body', () => {
  it('keeps a character split between two chunks whole, and counts the cap in bytes', async () => {
    // "Zoë 🙂" in UTF-8, delivered a byte at a time: both multi-byte characters are split.
    const bytes = Buffer.from('{"name":"Zoë 🙂"}', 'utf8');
    const chunked = (max: number) =>
      fetchTransport(
        async () =>
          ({
            status: 200,
            headers: new Headers(),
            body: (async function* () {
              for (const b of bytes) yield Uint8Array.of(b);
            })(),
          }) as unknown as Response,
      )({ url: 'http://x/', method: 'GET', headers: {}, body: undefined, signal: new AbortController().signal, maxBodyBytes: max });
    expect(JSON.parse((await chunked(1_000)).text!)).toEqual({ name: 'Zoë 🙂' });
    expect((await chunked(bytes.length)).text).toBe('{"name":"Zoë 🙂"}');
    expect((await chunked(bytes.length - 1)).text).toBeNull();
  });
});
