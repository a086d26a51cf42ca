// The compose topology's guarantees, reduced: scripts/check-topology.ts with two replicas (run from
// source, so no build is needed): queries over both, a webhook accepted by one replica reaching a
// subscriber on the other, and SIGTERM to one replica under load losing no request and no event;
// then the same checks on docs/deployment.md's split topology (two intake, two worker and two api
// processes), with one intake process and one worker SIGTERMed under load.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));

async function checkTopology(args: string[]): Promise<{ out: string; code: number | null }> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/check-topology.ts', ...args, '--source'], {
    cwd: REPO,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr.on('data', (b: Buffer) => (out += b.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  console.log(out);
  return { out, code };
}

describe('npm run check:topology', () => {
  it('2 replicas with every role: every check holds', async () => {
    const { out, code } = await checkTopology(['--replicas', '2']);
    expect(out).not.toContain('FAIL');
    expect(out).toContain('all topology checks passed');
    expect(out).toMatch(/ok {3}the SIGTERMed replica exited 0/);
    expect(code).toBe(0);
  }, 180_000);

  it('--split (webhooks | workers | api,subscriptions,pollers, two of each): every check holds', async () => {
    const { out, code } = await checkTopology(['--split']);
    expect(out).not.toContain('FAIL');
    expect(out).toContain('all topology checks passed');
    expect(out).toMatch(/ok {3}the SIGTERMed webhooks process exited 0/);
    expect(out).toMatch(/ok {3}the SIGTERMed workers process exited 0/);
    expect(out).toMatch(/ok {3}events delivered: (\d+)\/\1, duplicates: 0/);
    expect(code).toBe(0);
  }, 180_000);
});
