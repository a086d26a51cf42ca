// Child process of the fan-out benchmark (bench/fanout.ts): real graphql-ws clients (the library's
// own `createClient` on `ws`), one socket each, `subscriptionsPerSocket` contactChanged subscriptions
// per socket. Counts deliveries per tag and records, per delivery, receipt time minus the publish
// time the gateway child wrote into the contact's name (both performance.timeOrigin + now(), the
// host's clock, ±1 ms). Driven by the parent over IPC.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { LatencyHistogram } from './latency-histogram.ts';

type Command =
  | { type: 'connect'; url: string; apiKey: string; sockets: number; subscriptionsPerSocket: number; query: string }
  | { type: 'reset' }
  | { type: 'stats' }
  | { type: 'close' };

const clients: Client[] = [];
const disposers: Array<() => void> = [];
let delivered = 0;
let errors = 0;
let firstError = '';
let hist = new LatencyHistogram();
const seenTags = new Map<string, number>();

const now = () => performance.timeOrigin + performance.now();

function onNext(data: unknown): void {
  delivered++;
  const name = (data as { data?: { contactChanged?: { contact?: { name?: string } } } }).data?.contactChanged?.contact?.name ?? '';
  const [tag, , at] = name.split(':');
  if (tag) seenTags.set(tag, (seenTags.get(tag) ?? 0) + 1);
  const sent = Number(at);
  if (Number.isFinite(sent)) hist.record(Math.max(0, now() - sent));
}

async function connect(cmd: Extract<Command, { type: 'connect' }>): Promise<void> {
  const wsUrl = cmd.url.replace(/^http/, 'ws');
  const pending: Promise<void>[] = [];
  for (let s = 0; s < cmd.sockets; s++) {
    let acked!: () => void;
    const connected = new Promise<void>((r) => (acked = r));
    const client = createClient({
      url: wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${cmd.apiKey}` },
      lazy: false,
      // On a loaded machine a handshake is sometimes reset (accept queue full): try again.
      retryAttempts: 20,
      shouldRetry: () => true,
      on: { connected: () => acked() },
    });
    clients.push(client);
    for (let i = 0; i < cmd.subscriptionsPerSocket; i++) {
      disposers.push(
        client.subscribe(
          { query: cmd.query },
          {
            next: onNext,
            error: (err) => {
              errors++;
              firstError ||= JSON.stringify(err instanceof Error ? err.message : err).slice(0, 300);
            },
            complete: () => undefined,
          },
        ),
      );
    }
    pending.push(connected);
    // Opens sockets in groups, so the gateway's accept queue is not flooded all at once.
    if (pending.length >= 100) await Promise.all(pending.splice(0));
  }
  await Promise.all(pending);
}

process.on('message', (raw) => {
  const cmd = raw as Command;
  void (async () => {
    try {
      if (cmd.type === 'connect') {
        await connect(cmd);
        process.send?.({ type: 'connected' });
      } else if (cmd.type === 'reset') {
        delivered = 0;
        hist = new LatencyHistogram();
        seenTags.clear();
        process.send?.({ type: 'reset' });
      } else if (cmd.type === 'stats') {
        process.send?.({
          type: 'stats',
          delivered,
          errors,
          firstError,
          p50: hist.percentile(50),
          p99: hist.percentile(99),
          tags: Object.fromEntries(seenTags),
        });
      } else if (cmd.type === 'close') {
        for (const d of disposers) d();
        await Promise.all(clients.map((c) => c.dispose()));
        process.send?.({ type: 'closed' });
        process.exit(0);
      }
    } catch (err) {
      process.send?.({ type: 'failed', error: String(err) });
    }
  })();
});
process.on('disconnect', () => process.exit(0));
process.send?.({ type: 'ready' });
