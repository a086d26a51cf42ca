// The v4 association paging loop against small real servers that page badly: one that repeats its
// cursor forever (as Prism does when it serves the spec's example), one that cycles, one that never
// stops handing out fresh cursors. Every call is counted, so a loop without a stop shows up at once.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import { ASSOCIATION_PAGING_MAX_ROUNDS, HubSpotClient } from './client.ts';
import { hubspot } from './index.ts';

const TOKEN = 'pat-na1-paging-test';

interface BatchReadInput {
  id: string;
  after?: string;
}

/** Answers every association batch read with `page(input, call)` per input; counts the calls. */
async function startPagingServer(page: (input: BatchReadInput, call: number) => { toIds: number[]; after: string | null }) {
  const received: BatchReadInput[][] = [];
  const server: Server = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      const inputs = (JSON.parse(body) as { inputs: BatchReadInput[] }).inputs;
      received.push(inputs);
      const results = inputs.map((input) => {
        const { toIds, after } = page(input, received.length);
        return {
          from: { id: input.id },
          to: toIds.map((toObjectId) => ({ toObjectId, associationTypes: [{ category: 'HUBSPOT_DEFINED', typeId: 409, label: null }] })),
          ...(after ? { paging: { next: { after, link: `?after=${after}` } } } : {}),
        };
      });
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ status: 'COMPLETE', results, startedAt: '2026-01-01T00:00:00Z', completedAt: '2026-01-01T00:00:00Z' }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  stops.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return { url, received };
}

const stops: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(stops.splice(0).map((stop) => stop()));
});

const clientFor = (url: string) =>
  new HubSpotClient(createTestContext({ connector: hubspot, baseUrl: url, token: TOKEN, deadlineMs: 5_000, upstream: { maxAttempts: 1 } }));

describe('v4 association paging', () => {
  it('follows cursors until a record has no next page', async () => {
    const server = await startPagingServer((input) => {
      const pageNo = input.after ? Number(input.after.slice(1)) : 0;
      return { toIds: [pageNo * 10 + 1, pageNo * 10 + 2], after: pageNo < 2 ? `p${pageNo + 1}` : null };
    });
    const links = await clientFor(server.url).associations('invoices', 'line_items', ['7']);
    expect(links.get('7')).toEqual(['1', '2', '11', '12', '21', '22']);
    expect(server.received).toEqual([[{ id: '7' }], [{ id: '7', after: 'p1' }], [{ id: '7', after: 'p2' }]]);
  });

  it('stops when the cursor does not move: two calls against a server that repeats it forever', async () => {
    const server = await startPagingServer(() => ({ toIds: [501], after: 'NTI1Cg%3D%3D' }));
    const links = await clientFor(server.url).associations('invoices', 'line_items', ['7', '8']);
    expect(links.get('7')).toEqual(['501']);
    expect(links.get('8')).toEqual(['501']);
    expect(server.received).toHaveLength(2);
    expect(server.received[1]).toEqual([
      { id: '7', after: 'NTI1Cg%3D%3D' },
      { id: '8', after: 'NTI1Cg%3D%3D' },
    ]);
  });

  it('stops when a cursor comes back: a cycle of two cursors costs three calls', async () => {
    const server = await startPagingServer((input) => ({ toIds: [1], after: input.after === 'a' ? 'b' : 'a' }));
    await clientFor(server.url).associations('orders', 'line_items', ['9']);
    expect(server.received.map((inputs) => inputs[0]?.after ?? null)).toEqual([null, 'a', 'b']);
  });

  it('fails with UPSTREAM_BAD_RESPONSE after the round cap when cursors never end', async () => {
    const server = await startPagingServer((_input, call) => ({ toIds: [call], after: `fresh-${call}` }));
    const error = await clientFor(server.url)
      .associations('invoices', 'contacts', ['7'])
      .then(
        () => null,
        (err: unknown) => err,
      );
    expect(error).toBeInstanceOf(ConnectorError);
    expect((error as ConnectorError).code).toBe('UPSTREAM_BAD_RESPONSE');
    expect((error as ConnectorError).message).toContain(`association paging loop stopped after ${ASSOCIATION_PAGING_MAX_ROUNDS} rounds`);
    expect(server.received).toHaveLength(ASSOCIATION_PAGING_MAX_ROUNDS);
  });
});
