// A replica's event worker for test/events-stalled.test.ts: takes jobs from the shared queue, says
// "taken <eventId>" on stdout and never finishes them, so the test can SIGKILL it mid-job.
import { BullChangeQueue } from '../src/events/queue.ts';

const [redisUrl, prefix] = process.argv.slice(2) as [string, string];
const queue = new BullChangeQueue(redisUrl, prefix, { concurrency: 1, maxAttempts: 3, retryBaseDelayMs: 10, dedupeTtlSeconds: 60 }, () => undefined);
queue.start(
  (item) => {
    process.stdout.write(`taken ${item.change.eventId}\n`);
    return new Promise<void>(() => undefined);
  },
  async () => undefined,
);
process.stdout.write('ready\n');
