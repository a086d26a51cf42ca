import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const LOGGER = fileURLToPath(new URL('./logger.ts', import.meta.url));

describe('closeLog', () => {
  it('lets every line reach a full pipe, in order, before the process exits', async () => {
    // The child fills its stdout pipe (nobody reads yet), so pino's asynchronous write stalls and
    // waits to retry; it logs ten more lines and exits through closeLog. With pino's flush(cb)
    // instead, the stalled write's lines were lost (296 of 310 arrived).
    const script = `
      import { closeLog, createLogger } from ${JSON.stringify(LOGGER)};
      const log = createLogger('info');
      const pad = 'x'.repeat(1000);
      let i = 0;
      for (; i < 300; i++) log.info({ i, pad }, 'line');
      await new Promise((r) => setTimeout(r, 50));
      for (; i < 310; i++) log.info({ i }, 'line');
      await closeLog(log);
      process.exit(0);
    `;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
    child.stdout.pause();
    // Start reading only once the child has had time to fill the pipe and stall (the order and
    // completeness checked below do not depend on this wait; it only makes the stall likely).
    await new Promise((r) => setTimeout(r, 500));
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stdout.resume();
    const [code] = (await once(child, 'close')) as [number | null];
    expect(code).toBe(0);
    const ids = out
      .split('\n')
      .filter(Boolean)
      .map((l) => (JSON.parse(l) as { i: number }).i);
    expect(ids).toEqual(Array.from({ length: 310 }, (_, k) => k));
  });
});
