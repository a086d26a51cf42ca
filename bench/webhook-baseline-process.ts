// Child process of the webhook benchmark: the yardstick for the gateway's webhook route. A bare
// node:http server that reads the raw body (1 MiB limit), verifies the Stripe-Signature header
// with the same scheme as the gateway — hex HMAC-SHA256 of `${t}.${rawBody}` keyed with the whsec_
// secret, constant-time comparison, 300 s tolerance both ways — and answers 200. No parsing, no
// queue, no Redis: everything the gateway does beyond this is what the comparison shows.
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

const secret = process.env.BENCH_WEBHOOK_SECRET;
if (!secret) throw new Error('BENCH_WEBHOOK_SECRET is not set');
const key = Buffer.from(secret, 'utf8');
const TOLERANCE_S = 300;
const MAX_BODY = 1024 * 1024;

function verify(header: string | undefined, body: Buffer): 200 | 400 | 401 {
  if (!header) return 401;
  let t: number | null = null;
  const candidates: string[] = [];
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === 't' && t === null && /^\d{1,15}$/.test(v)) t = Number(v);
    else if (k === 'v1') candidates.push(v);
  }
  if (t === null || candidates.length === 0) return 401;
  const expected = createHmac('sha256', key).update(`${t}.`, 'utf8').update(body).digest();
  let ok = false;
  for (const c of candidates) {
    if (!/^[0-9a-fA-F]{64}$/.test(c)) continue;
    if (timingSafeEqual(Buffer.from(c, 'hex'), expected)) ok = true;
  }
  if (!ok) return 401;
  return Math.abs(Math.floor(Date.now() / 1000) - t) > TOLERANCE_S ? 400 : 200;
}

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  let size = 0;
  req.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_BODY) chunks.push(c);
  });
  req.on('end', () => {
    const header = req.headers['stripe-signature'];
    const status = req.method !== 'POST' ? 405 : size > MAX_BODY ? 413 : verify(Array.isArray(header) ? header.join(',') : header, Buffer.concat(chunks));
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
    res.end(status === 200 ? '{"received":1}' : '{"error":"rejected"}');
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as AddressInfo;
  process.stdout.write(`${JSON.stringify({ ready: true, webhookUrl: `http://127.0.0.1:${port}/webhooks/stripe/bench`, pid: process.pid })}\n`);
});
const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);
