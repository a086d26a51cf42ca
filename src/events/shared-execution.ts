// Subscription fan-out without re-executing, or re-serializing, the same document for every
// subscriber: graphql-js runs a subscription's selection once per subscriber per event, which the
// webhook benchmark measured as the largest CPU cost of fan-out, and graphql-ws then serializes
// each result once per socket. Here the result for one event is computed once per distinct
// (tenant, document, variables) and shared by every subscriber with the same key; with a direct
// sink (the WebSocket server, see gateway/websocket.ts) it is also serialized once, and the same
// bytes are written to every matching socket.
// Results are never shared across tenants (the tenant is part of the key, and every event was
// already filtered to the subscriber's tenant).
import { createSourceEventStream, execute, print, type DocumentNode, type ExecutionArgs, type ExecutionResult } from 'graphql';
import { isPushStream, type DirectSink, type PushStream } from '../util/push-stream.ts';

/** One event's result for one key; `body` is its serialization, made by the first direct sink that needs it. */
interface Shared {
  result: Promise<ExecutionResult> | ExecutionResult;
  body: Buffer | null;
}
/** Printed document → (tenant, operation, variables) → result. Two levels, so no per-subscriber copy of the document text. */
type Memo = Map<string, Map<string, Shared>>;
/** Keyed by the event object itself: one object per event per process, garbage-collected with it. */
const resultsByEvent = new WeakMap<object, Memo>();
/** Printed once per document object (the WebSocket server reuses one parsed document per query text). */
const printed = new WeakMap<DocumentNode, string>();

/** Where a subscription's results go without passing through graphql-ws's per-result loop. */
export interface DirectDelivery {
  /** The payload as the protocol sends it (errors formatted for the client), serialized once per shared result. */
  serialize(result: ExecutionResult): Buffer;
  /** Writes one result's bytes for this subscription; false when its socket cannot keep up. */
  send(body: Buffer): boolean;
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

function isPromise<T>(value: Promise<T> | T): value is Promise<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

/** The shared result of `payload` (one event) for (document, tenant, operation, variables). */
function sharedFor(args: ExecutionArgs, docKey: string, key: string, payload: unknown): Shared {
  if (typeof payload !== 'object' || payload === null) return { result: execute({ ...args, rootValue: payload }), body: null };
  let memo = resultsByEvent.get(payload);
  if (!memo) resultsByEvent.set(payload, (memo = new Map()));
  let byKey = memo.get(docKey);
  if (!byKey) memo.set(docKey, (byKey = new Map()));
  let shared = byKey.get(key);
  if (!shared) {
    shared = { result: execute({ ...args, rootValue: payload }), body: null };
    byKey.set(key, shared);
  }
  return shared;
}

/**
 * One subscription delivering directly: one object holding what it needs (an idle subscription
 * keeps it for its lifetime; closures over the same values were several objects).
 */
class DirectSubscriber implements DirectSink<unknown> {
  /** The last write still waiting for an asynchronous result; later results wait behind it. */
  private pending: Promise<boolean> | null = null;

  constructor(
    private readonly args: ExecutionArgs,
    private readonly docKey: string,
    private readonly key: string,
    private readonly direct: DirectDelivery,
    private readonly stream: PushStream<unknown>,
  ) {}

  private write(shared: Shared, result: ExecutionResult): boolean {
    return this.direct.send((shared.body ??= this.direct.serialize(result)));
  }

  take(payload: unknown): boolean {
    const shared = sharedFor(this.args, this.docKey, this.key, payload);
    const result = shared.result;
    // A result that is still a promise (an async resolver) holds the results after it back until it is written.
    if (this.pending === null && !isPromise(result)) return this.write(shared, result);
    const previous = this.pending ?? Promise.resolve(true);
    const mine: Promise<boolean> = previous.then(async (ok) => {
      if (!ok) return false;
      const written = this.write(shared, await result);
      if (!written) this.stream.overflow();
      return written;
    });
    this.pending = mine;
    void mine.finally(() => {
      if (this.pending === mine) this.pending = null;
    });
    return true;
  }
}

export async function sharedSubscribe(
  args: ExecutionArgs,
  tenantId: string,
  direct?: DirectDelivery,
): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream as ExecutionResult;
  let documentKey = printed.get(args.document);
  if (documentKey === undefined) printed.set(args.document, (documentKey = print(args.document)));
  const docKey = documentKey;
  // One flat string (JSON.stringify builds one; a template literal would keep its parts as a rope).
  const key = JSON.stringify([tenantId, args.operationName ?? '', args.variableValues ?? {}]);

  if (direct && isPushStream(stream)) {
    // Results are written as events arrive, in order; graphql-ws's loop only sees the end (or
    // the failure) of the stream.
    stream.deliverTo(new DirectSubscriber(args, docKey, key, direct, stream));
    return stream as unknown as AsyncGenerator<ExecutionResult>;
  }

  const source = stream[Symbol.asyncIterator]();
  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      return r.done ? { value: undefined, done: true } : { value: await sharedFor(args, docKey, key, r.value).result, done: false };
    },
    async return() {
      await source.return?.();
      return { value: undefined, done: true };
    },
    async throw(err: unknown) {
      await source.return?.();
      throw err;
    },
    [Symbol.asyncIterator]() {
      return this;
    },
  } as AsyncGenerator<ExecutionResult>;
  return mapped;
}
