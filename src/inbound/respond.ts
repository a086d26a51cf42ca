// The two HTTP primitives every route of the gateway uses: a JSON answer, and a bounded body read.
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The gateway's base URL as its caller reached it: the configured public URL, else the Host
 * header over http (behind a TLS proxy, configure SWITCHBOARD_PUBLIC_URL).
 */
export function publicBaseOf(req: IncomingMessage, publicUrl: string | undefined): string {
  return publicUrl?.replace(/\/$/, '') ?? `http://${req.headers.host ?? 'localhost'}`;
}

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers });
  res.end(JSON.stringify(body));
}

/** The raw body, or null once it exceeds `limit` bytes (the rest is drained, not buffered). */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size <= limit) chunks.push(c);
    });
    req.on('end', () => resolve(size > limit ? null : Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
