// The gateway's node:http server with what a drain needs: the requests in flight, deliberate
// timeouts (a slow client cannot hold a request open for Node's 300 s default), and a way to stop
// accepting, let the requests in flight finish within a deadline, then close what is left.
import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { GatewayLimits } from '../config.ts';

type ServerLimits = Pick<GatewayLimits, 'serverHeadersTimeoutMs' | 'serverRequestTimeoutMs' | 'serverKeepAliveTimeoutMs'>;

export class DrainableServer {
  readonly server: Server;
  private readonly inFlight = new Set<ServerResponse>();
  private drained: (() => void) | null = null;
  private closed: Promise<void> | null = null;

  constructor(limits: ServerLimits, listener: RequestListener, lifecycle: { readonly draining: boolean }) {
    const { serverHeadersTimeoutMs, serverRequestTimeoutMs } = limits;
    this.server = createServer(
      // Node checks both timeouts every connectionsCheckingInterval (default 30 s): check often enough for them to mean what they say.
      { connectionsCheckingInterval: Math.max(100, Math.min(1_000, serverHeadersTimeoutMs / 2)) },
      (req, res) => {
        this.inFlight.add(res);
        res.on('close', () => {
          this.inFlight.delete(res);
          if (this.inFlight.size === 0) this.drained?.();
        });
        // A request arriving on a kept-alive connection during a drain is served, then the connection closes.
        if (lifecycle.draining) res.setHeader('connection', 'close');
        listener(req, res);
      },
    );
    this.server.requestTimeout = serverRequestTimeoutMs;
    this.server.headersTimeout = Math.min(serverHeadersTimeoutMs, serverRequestTimeoutMs);
    this.server.keepAliveTimeout = limits.serverKeepAliveTimeoutMs;
  }

  listen(port: number, host: string): Promise<number> {
    return new Promise((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => resolve((this.server.address() as AddressInfo).port));
    });
  }

  /** Requests being answered now. */
  get requestsInFlight(): number {
    return this.inFlight.size;
  }

  /** New connections are refused and idle kept-alive ones closed; resolves once the server has closed. */
  stopAccepting(): Promise<void> {
    this.closed ??= new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    return this.closed;
  }

  /** Waits up to `drainMs` for the requests in flight, then closes every connection: how many finished, how many were cut. */
  async finishInFlight(drainMs: number): Promise<{ finished: number; cut: number }> {
    const requests = this.inFlight.size;
    if (requests > 0) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([new Promise<void>((resolve) => (this.drained = resolve)), new Promise<void>((resolve) => (timer = setTimeout(resolve, drainMs)))]);
      clearTimeout(timer);
    }
    const cut = this.inFlight.size;
    this.server.closeAllConnections();
    return { finished: requests - cut, cut };
  }
}
