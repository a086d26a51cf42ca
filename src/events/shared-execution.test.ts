import { parse } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { describe, expect, it } from 'vitest';
import { sharedSubscribe } from './shared-execution.ts';
import { pushStream } from '../util/push-stream.ts';

// One event object delivered to several subscribers, like the change log does in a replica.
function feed(events: object[]): AsyncIterable<object> {
  return {
    async *[Symbol.asyncIterator]() {
      for (const e of events) yield e;
    },
  };
}

describe('sharedSubscribe', () => {
  it('executes a selection once per event per (tenant, document, variables), never across tenants', async () => {
    let executions = 0;
    const events = [{ n: 1 }, { n: 2 }];
    const schema = makeExecutableSchema({
      typeDefs: 'type Query { x: Int } type Subscription { tick(k: Int): Tick! } type Tick { n: Int! }',
      resolvers: {
        Subscription: { tick: { subscribe: () => feed(events), resolve: (e: { n: number }) => e } },
        Tick: {
          n: (e: { n: number }) => {
            executions++;
            return e.n;
          },
        },
      },
    });
    const run = async (tenant: string, doc: string, variables = {}) => {
      const it = (await sharedSubscribe({ schema, document: parse(doc), variableValues: variables }, tenant)) as AsyncGenerator<{
        data: { tick: { n: number } };
      }>;
      const out: number[] = [];
      for await (const r of it) out.push(r.data.tick.n);
      return out;
    };
    const doc = 'subscription { tick { n } }';
    expect(await run('a', doc)).toEqual([1, 2]);
    expect(await run('a', doc)).toEqual([1, 2]); // same tenant, same document: shared
    expect(executions).toBe(2);
    expect(await run('b', doc)).toEqual([1, 2]); // another tenant: its own execution
    expect(executions).toBe(4);
    expect(await run('a', 'subscription ($k: Int) { tick(k: $k) { n } }', { k: 1 })).toEqual([1, 2]);
    expect(executions).toBe(6); // other document / variables: its own execution
  });
});

describe('sharedSubscribe with a direct sink', () => {
  // A source like the change log: every subscriber's push stream gets the same event object.
  function hub() {
    const pushers = new Set<(e: object) => void>();
    return {
      stream: () =>
        pushStream<object>((push) => {
          pushers.add(push);
          return () => pushers.delete(push);
        }),
      publish: (e: object) => {
        for (const p of pushers) p(e);
      },
      get size() {
        return pushers.size;
      },
    };
  }

  it('serializes one result once for every subscriber with the same key, and writes the same bytes to each', async () => {
    const source = hub();
    const schema = makeExecutableSchema({
      typeDefs: 'type Query { x: Int } type Subscription { tick: Tick! } type Tick { n: Int! }',
      resolvers: { Subscription: { tick: { subscribe: () => source.stream(), resolve: (e: unknown) => e } } },
    });
    const document = parse('subscription { tick { n } }');
    let serialized = 0;
    const sent: Buffer[][] = [[], [], []];
    const streams = await Promise.all(
      sent.map((into) =>
        sharedSubscribe({ schema, document }, 'a', {
          serialize: (result) => {
            serialized++;
            return Buffer.from(JSON.stringify(result));
          },
          send: (body) => (into.push(body), true),
        }),
      ),
    );
    source.publish({ n: 1 });
    source.publish({ n: 2 });
    expect(serialized).toBe(2);
    for (const into of sent) expect(into.map((b) => JSON.parse(b.toString()))).toEqual([{ data: { tick: { n: 1 } } }, { data: { tick: { n: 2 } } }]);
    expect(sent[1]![0]).toBe(sent[0]![0]); // the very same bytes
    for (const s of streams) await (s as AsyncGenerator).return(undefined);
    expect(source.size).toBe(0);
  });

  it('ends a subscription whose socket cannot keep up with an error saying to resume', async () => {
    const source = hub();
    const schema = makeExecutableSchema({
      typeDefs: 'type Query { x: Int } type Subscription { tick: Tick! } type Tick { n: Int! }',
      resolvers: { Subscription: { tick: { subscribe: () => source.stream(), resolve: (e: unknown) => e } } },
    });
    let room = 1;
    const it = (await sharedSubscribe({ schema, document: parse('subscription { tick { n } }') }, 'a', {
      serialize: (result) => Buffer.from(JSON.stringify(result)),
      send: () => room-- > 0,
    })) as AsyncGenerator;
    const ended = it.next();
    source.publish({ n: 1 });
    source.publish({ n: 2 });
    await expect(ended).rejects.toThrow(/too slow/);
    expect(source.size).toBe(0);
  });
});
