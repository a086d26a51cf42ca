// The stalled-jobs metric (issue 14): a replica's worker is SIGKILLed in the middle of a job; its
// lock expires, another replica's worker takes the job over (BullMQ reports it stalled), processes
// it, and switchboard_queue_stalled_jobs_total counts it. Real Redis, a real second process.
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { BullChangeQueue } from '../src/events/queue.ts';
import { Metrics } from '../src/observability/metrics.ts';
import { REDIS_URL, RUN_PREFIX } from './helpers.ts';

const TSX = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const WORKER = fileURLToPath(new URL('./stalled-worker.ts', import.meta.url));
const prefix = `${RUN_PREFIX}:stalled:${randomUUID().slice(0, 6)}`;
const cleanup: Array<() => Promise<unknown> | unknown> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

const item = (eventId: string) => ({
  tenantId: 't',
  connectionId: 'c',
  provider: 'stripe',
  receivedAt: new Date().toISOString(),
  change: { eventId, entity: 'Contact' as const, type: 'UPDATED' as const, remoteId: 'r1', occurredAt: new Date().toISOString(), version: null, model: null },
});

describe('stalled jobs taken over', () => {
  it('a worker killed mid-job: another replica takes the job over and the metric counts it', async () => {
    const child = spawn(process.execPath, ['--import', TSX, WORKER, REDIS_URL, prefix], { stdio: ['ignore', 'pipe', 'inherit'] });
    cleanup.push(() => child.exitCode === null && child.kill('SIGKILL'));
    const lines = createInterface({ input: child.stdout! });
    const seen: string[] = [];
    let wake: (() => void) | null = null;
    lines.on('line', (l) => {
      seen.push(l);
      wake?.();
    });
    const waitLine = async (prefixText: string) => {
      const deadline = Date.now() + 30_000;
      while (!seen.some((l) => l.startsWith(prefixText))) {
        if (Date.now() > deadline) throw new Error(`child never said "${prefixText}"`);
        await new Promise<void>((r) => {
          wake = r;
          setTimeout(r, 500);
        });
      }
    };
    await waitLine('ready');

    const producer = new BullChangeQueue(REDIS_URL, prefix, { concurrency: 1, maxAttempts: 3, retryBaseDelayMs: 10, dedupeTtlSeconds: 60 }, () => undefined);
    cleanup.push(() => producer.close());
    const eventId = `evt-${randomUUID()}`;
    await producer.enqueue([item(eventId)]);
    await waitLine(`taken ${eventId}`);
    child.kill('SIGKILL');
    await once(child, 'exit');

    // The surviving replica: its worker and its metrics, wired as the event pipeline wires them.
    const metrics = new Metrics();
    const processed: string[] = [];
    const stalledJobs: string[] = [];
    let done: (() => void) | null = null;
    const survivor = new BullChangeQueue(
      REDIS_URL,
      prefix,
      { concurrency: 1, maxAttempts: 3, retryBaseDelayMs: 10, dedupeTtlSeconds: 60 },
      () => undefined,
      (jobId) => {
        stalledJobs.push(jobId);
        metrics.queueStalled.inc();
      },
    );
    cleanup.push(() => survivor.close());
    const finished = new Promise<void>((r) => (done = r));
    survivor.start(
      async (it) => {
        processed.push(it.change.eventId);
        done?.();
      },
      async () => undefined,
    );
    // Lock 10 s + stalled check every 5 s: the takeover comes within ~15 s; generous bound for a loaded machine.
    await Promise.race([finished, new Promise((_, reject) => setTimeout(() => reject(new Error('the job was never taken over')), 60_000))]);
    expect(processed).toEqual([eventId]);
    const value = (await metrics.queueStalled.get()).values.reduce((a, v) => a + v.value, 0);
    expect(value).toBe(1);
    // The job's id reaches the callback (the pipeline logs it with the metric).
    expect(stalledJobs).toHaveLength(1);
    expect(stalledJobs[0]).toEqual(expect.any(String));
  }, 90_000);
});
