// The compose topology's guarantees, reduced: scripts/check-topology.ts with two replicas (run from
// source, so no build is needed): queries over both, a webhook accepted by one replica reaching a
// subscriber on the other, and SIGTERM to one replica under load losing no request and no event.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('..', import.meta.url));

describe('npm run check:topology (2 replicas)', () => {
  it('every check holds', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/check-topology.ts', '--replicas', '2', '--source'], {
      cwd: REPO,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (b: Buffer) => (out += b.toString()));
    child.stderr.on('data', (b: Buffer) => (out += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    console.log(out);
    expect(out).not.toContain('FAIL');
    expect(out).toContain('all topology checks passed');
    expect(out).toMatch(/ok {3}the SIGTERMed replica exited 0/);
    expect(code).toBe(0);
  }, 180_000);
});
