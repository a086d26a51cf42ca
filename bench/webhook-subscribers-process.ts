// Child process of the webhook benchmark: N graphql-ws subscribers, one WebSocket each, all
// subscribed to contactChanged. They speak the graphql-transport-ws protocol directly on `ws` (a
// few lines; the graphql-ws client adds per-message work this process cannot spare while it
// shares two cores with the gateway). Each delivery's latency is the receipt time minus the send
// time the sender wrote into the customer's name, both read from the host's monotonic clock.
// Driven by the parent over the IPC channel; answers each command with one message.
import WebSocket from 'ws';
import { LatencyHistogram, hostClockMs } from './latency-histogram.ts';

type Command =
  | { type: 'connect'; wsUrl: string; apiKey: string; count: number; query: string; variables: Record<string, unknown> }
  | { type: 'arm'; tag: string; events: number }
  | { type: 'waitProbe'; tag: string; timeoutMs: number }
  | { type: 'stats' }
  | { type: 'close' };

interface Sub {
  index: number;
  ws: WebSocket;
  /** Events of the armed run this subscriber received (one bit-ish byte per event). */
  seen: Uint8Array;
  received: number;
  probes: Set<string>;
  closed: { code: number; reason: string } | null;
}

const subs: Sub[] = [];
let hist = new LatencyHistogram();
/** POST → the worker's publish time (source.fetchedAt), once per event (first subscriber only). */
let toPublish = new LatencyHistogram();
/** The worker's publish time → receipt, per delivery (the change log tail plus the fan-out). */
let fromPublish = new LatencyHistogram();
/** Date.now() − hostClockMs(), to place the gateway's wall-clock publish time on the host clock (±1 ms). */
const wallOffsetMs = Date.now() - hostClockMs();
let armedTag = '';
let armedEvents = 0;
let delivered = 0;
let duplicates = 0;
let foreign = 0;
const errors: string[] = [];
let errorCount = 0;

const send = (msg: unknown) => process.send?.(msg);
const noteError = (text: string) => {
  errorCount++;
  if (errors.length < 5) errors.push(text.slice(0, 300));
};

function onMessage(sub: Sub, data: WebSocket.RawData): void {
  const at = hostClockMs();
  let msg: { type?: string; payload?: unknown };
  try {
    msg = JSON.parse(data.toString()) as typeof msg;
  } catch {
    return noteError('a message that is not JSON');
  }
  if (msg.type === 'ping') return void sub.ws.send('{"type":"pong"}');
  if (msg.type === 'error') return noteError(`error message: ${JSON.stringify(msg.payload)}`);
  if (msg.type === 'complete') return noteError('the server completed the subscription');
  if (msg.type !== 'next') return;
  const payload = msg.payload as {
    data?: { contactChanged?: { contact?: { name?: string | null } | null; source?: { fetchedAt?: string } } };
    errors?: unknown;
  };
  if (payload.errors) noteError(`next with errors: ${JSON.stringify(payload.errors)}`);
  const change = payload.data?.contactChanged;
  const name = change?.contact?.name ?? '';
  // bench:<tag>:<index>:<send time> or probe:<tag>:0:<send time>
  const [kind, tag, index, sentAt] = name.split(':');
  if (kind === 'probe' && tag) return void sub.probes.add(tag);
  if (kind !== 'bench' || tag !== armedTag) return void foreign++;
  const i = Number(index);
  if (!(i >= 0 && i < armedEvents)) return void foreign++;
  if (sub.seen[i]) return void duplicates++;
  sub.seen[i] = 1;
  sub.received++;
  delivered++;
  hist.record(at - Number(sentAt));
  const publishedAt = Date.parse(change?.source?.fetchedAt ?? '') - wallOffsetMs;
  if (Number.isFinite(publishedAt)) {
    fromPublish.record(at - publishedAt);
    if (sub.index === 0) toPublish.record(publishedAt - Number(sentAt));
  }
}

function connectOne(cmd: Extract<Command, { type: 'connect' }>, id: number): Promise<Sub> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(cmd.wsUrl, 'graphql-transport-ws', { perMessageDeflate: false });
    const sub: Sub = { index: id, ws, seen: new Uint8Array(0), received: 0, probes: new Set(), closed: null };
    const timer = setTimeout(() => {
      ws.terminate();
      reject(new Error(`subscriber ${id}: no connection_ack within 15 s`));
    }, 15_000);
    ws.on('open', () => ws.send(JSON.stringify({ type: 'connection_init', payload: { authorization: `Bearer ${cmd.apiKey}` } })));
    ws.on('error', (err) => noteError(`socket error: ${err.message}`));
    ws.on('close', (code, reason) => {
      sub.closed = { code, reason: reason.toString() };
      clearTimeout(timer);
      reject(new Error(`subscriber ${id}: closed ${code} ${reason.toString()}`));
    });
    const onAck = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString()) as { type?: string };
      if (msg.type !== 'connection_ack') return;
      clearTimeout(timer);
      ws.off('message', onAck);
      ws.on('message', (d) => onMessage(sub, d));
      ws.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: cmd.query, variables: cmd.variables } }));
      resolve(sub);
    };
    ws.on('message', onAck);
  });
}

async function connect(cmd: Extract<Command, { type: 'connect' }>): Promise<void> {
  const started = hostClockMs();
  let failed = 0;
  const BATCH = 50;
  for (let i = 0; i < cmd.count; i += BATCH) {
    const batch = await Promise.allSettled(Array.from({ length: Math.min(BATCH, cmd.count - i) }, (_, k) => connectOne(cmd, i + k)));
    for (const r of batch) {
      if (r.status === 'fulfilled') subs.push(r.value);
      else {
        failed++;
        noteError(String(r.reason));
      }
    }
  }
  send({ type: 'connected', connected: subs.length, failed, ms: hostClockMs() - started });
}

process.on('message', (raw) => {
  const cmd = raw as Command;
  switch (cmd.type) {
    case 'connect':
      void connect(cmd);
      return;
    case 'arm':
      armedTag = cmd.tag;
      armedEvents = cmd.events;
      hist = new LatencyHistogram();
      toPublish = new LatencyHistogram();
      fromPublish = new LatencyHistogram();
      delivered = 0;
      duplicates = 0;
      for (const s of subs) {
        s.seen = new Uint8Array(cmd.events);
        s.received = 0;
      }
      send({ type: 'armed' });
      return;
    case 'waitProbe': {
      const deadline = Date.now() + cmd.timeoutMs;
      const check = () => {
        const got = subs.filter((s) => s.probes.has(cmd.tag)).length;
        if (got === subs.length || Date.now() >= deadline) send({ type: 'probe', tag: cmd.tag, received: got, of: subs.length });
        else setTimeout(check, 20);
      };
      check();
      return;
    }
    case 'stats': {
      let min = Infinity;
      let max = 0;
      for (const s of subs) {
        min = Math.min(min, s.received);
        max = Math.max(max, s.received);
      }
      const closedCodes: Record<string, number> = {};
      for (const s of subs)
        if (s.closed) closedCodes[`${s.closed.code} ${s.closed.reason}`.trim()] = (closedCodes[`${s.closed.code} ${s.closed.reason}`.trim()] ?? 0) + 1;
      send({
        type: 'stats',
        subscribers: subs.length,
        delivered,
        duplicates,
        foreign,
        latency: hist.summary(),
        toPublish: toPublish.summary(),
        fromPublish: fromPublish.summary(),
        perSubscriber: { min: subs.length ? min : 0, max },
        closedCodes,
        errorCount,
        errors,
        cpuSeconds: (process.cpuUsage().user + process.cpuUsage().system) / 1e6,
      });
      return;
    }
    case 'close':
      for (const s of subs) s.ws.terminate();
      send({ type: 'closed' });
      setTimeout(() => process.exit(0), 50);
      return;
  }
});
process.on('disconnect', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
