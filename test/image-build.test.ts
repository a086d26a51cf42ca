// The image builds from what its Dockerfile copies (issue 14): `npm run build` in the build stage
// sees only package files, tsconfig*.json, schema/, src/ and connectors/. A compiled file that
// imports something outside those (a script, a test helper) breaks `docker build` while every
// local build passes, and a test-only module in dist would load dev dependencies the runtime
// image does not have. Checked here from tsc's own file list, without Docker.
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

describe('the Dockerfile build stage', () => {
  it('compiles only files the build stage copies, none of them test support', async () => {
    const copied = [...readFileSync(`${ROOT}/Dockerfile`, 'utf8').matchAll(/^COPY (?!--from)(.+) \S+$/gm)].flatMap((m) => (m[1] as string).split(/\s+/));
    expect(copied).toEqual(expect.arrayContaining(['src', 'connectors', 'schema']));
    const tsc = fileURLToPath(new URL('../node_modules/typescript/bin/tsc', import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [tsc, '-p', 'tsconfig.build.json', '--listFilesOnly'], { cwd: ROOT, maxBuffer: 16 << 20 });
    const ours = stdout
      .split('\n')
      .filter((f) => f && !f.includes('/node_modules/'))
      .map((f) => relative(ROOT, f));
    expect(ours.length).toBeGreaterThan(100);
    expect(ours.filter((f) => !copied.includes(f.split('/')[0] as string))).toEqual([]);
    // Test support imports vitest (a dev dependency the runtime image prunes).
    expect(ours.filter((f) => /from ['"]vitest['"]/.test(readFileSync(`${ROOT}/${f}`, 'utf8')))).toEqual([]);
  }, 60_000);
});
