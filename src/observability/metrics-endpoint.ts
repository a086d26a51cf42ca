// GET /metrics (Prometheus text format), not open to the world: behind a bearer token compared in
// constant time, and/or on its own listener bound to a private address (docs/configuration.md,
// "Metrics"). Which one the config asks for is decided here, once.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { MetricsExposure } from '../config.ts';
import type { Metrics } from './metrics.ts';

/** The programmatic default: open on the main port (tests, benchmarks, embedding). */
export const OPEN_ON_MAIN_PORT: MetricsExposure = { disabled: false, token: null, port: null, host: '127.0.0.1' };

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Whether `header` is `Bearer <token>`; equal-length digests, so neither content nor length leaks through timing. */
export function bearerMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header ?? '');
  return timingSafeEqual(digest(m?.[1] ?? ''), digest(token)) && m !== null;
}

export function metricsHandler(metrics: Metrics, token: string | null): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (token !== null && !bearerMatches(req.headers.authorization, token)) {
      res.writeHead(401, { 'content-type': 'application/json', 'www-authenticate': 'Bearer realm="switchboard-metrics"' });
      res.end(JSON.stringify({ error: '/metrics needs the metrics bearer token (METRICS_TOKEN)' }));
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' });
      res.end();
      return;
    }
    const text = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType, 'cache-control': 'no-store' });
    res.end(req.method === 'HEAD' ? undefined : text);
  };
}

/** Whether the main port serves /metrics under this exposure. */
export function servedOnMainPort(exposure: MetricsExposure): boolean {
  return !exposure.disabled && exposure.port === null;
}

/** The separate metrics listener, when the exposure asks for one; null otherwise. */
export async function startMetricsListener(metrics: Metrics, exposure: MetricsExposure): Promise<{ url: string; close(): Promise<void> } | null> {
  if (exposure.disabled || exposure.port === null) return null;
  const handle = metricsHandler(metrics, exposure.token);
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'only /metrics is served on this port' }));
      return;
    }
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new Error(`METRICS_PORT ${exposure.port} on ${exposure.host} is in use: set METRICS_PORT to a free port`) : err),
    );
    server.listen(exposure.port as number, exposure.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = exposure.host.includes(':') ? `[${exposure.host}]` : exposure.host;
  return {
    url: `http://${host}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
