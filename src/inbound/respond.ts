// The two HTTP primitives every route of the gateway uses: a JSON answer, and a bounded body read.
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The gateway's base URL as its caller reached it: the configured public URL, else the Host
 * header over http (behind a TLS proxy, configure SWITCHBOARD_PUBLIC_URL).
 */
export function publicBaseOf(req: IncomingMessage, publicUrl: string | undefined): string {
  return publicUrl?.replace(/\/$/, '') ?? `http://${req.headers.host ?? 'localhost'}`;
}

const JSON_HEADERS: Readonly<Record<string, string>> = { 'content-type': 'application/json; charset=utf-8' };

export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  // Node copies the headers it is given: the constant serves every answer without extra headers.
  res.writeHead(status, headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS);
  res.end(JSON.stringify(body));
}

/**
 * The client closed the connection before its request body had arrived: nobody is left to answer,
 * and nothing on our side failed (not an error to log, nor a store outage).
 */
export class ClientGone extends Error {
  override readonly name = 'ClientGone';

  constructor() {
    super('the client closed the connection before its request body arrived');
  }
}

/**
 * The raw body, or null once it exceeds `limit` bytes (the rest is drained, not buffered). Rejects
 * with ClientGone when the client disconnects first.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    // Gone before we got to read it (the route awaited lookups first): no 'error' is coming.
    if (req.destroyed) return reject(new ClientGone());
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    // One chunk (most bodies) is handed over as it is: Node's HTTP parser copies each body chunk into a buffer of its own.
    req.on('end', () => resolve(size > limit ? null : chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks)));
    // Node reports a request cut short by its client as "aborted" with ECONNRESET.
    req.on('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ECONNRESET' ? new ClientGone() : err));
  });
}
