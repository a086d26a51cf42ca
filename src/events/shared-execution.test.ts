import { parse } from 'graphql';
import { makeExecutableSchema } from '@graphql-tools/schema';
import { describe, expect, it } from 'vitest';
import { sharedSubscribe } from './shared-execution.ts';

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
