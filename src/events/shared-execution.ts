// Subscription fan-out without re-executing the same document for every subscriber: graphql-js
// runs a subscription's selection once per subscriber per event, which the webhook benchmark
// measured as the largest CPU cost of fan-out. Here the result for one event is computed once per
// distinct (tenant, document, variables) and shared by every subscriber with the same key.
// Results are never shared across tenants (the tenant is part of the key, and every event was
// already filtered to the subscriber's tenant).
import { createSourceEventStream, execute, print, type ExecutionArgs, type ExecutionResult } from 'graphql';

type Memo = Map<string, Promise<ExecutionResult> | ExecutionResult>;
/** Keyed by the event object itself: one object per event per process, garbage-collected with it. */
const resultsByEvent = new WeakMap<object, Memo>();

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

export async function sharedSubscribe(args: ExecutionArgs, tenantId: string): Promise<AsyncGenerator<ExecutionResult> | ExecutionResult> {
  const stream = await createSourceEventStream(args);
  if (!isAsyncIterable(stream)) return stream as ExecutionResult;
  const key = `${tenantId}\u0000${args.operationName ?? ''}\u0000${JSON.stringify(args.variableValues ?? {})}\u0000${print(args.document)}`;
  const source = stream[Symbol.asyncIterator]();

  const resultFor = (payload: unknown): Promise<ExecutionResult> | ExecutionResult => {
    if (typeof payload !== 'object' || payload === null) return execute({ ...args, rootValue: payload });
    let memo = resultsByEvent.get(payload);
    if (!memo) resultsByEvent.set(payload, (memo = new Map()));
    let result = memo.get(key);
    if (!result) {
      result = execute({ ...args, rootValue: payload });
      memo.set(key, result);
    }
    return result;
  };

  const mapped: AsyncGenerator<ExecutionResult> = {
    async next() {
      const r = await source.next();
      return r.done ? { value: undefined, done: true } : { value: await resultFor(r.value), done: false };
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
