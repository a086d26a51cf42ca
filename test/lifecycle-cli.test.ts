// The operator commands around the gateway: `npm run keys` (help, tenant check, Redis explained)
// and `npm run demo:change` refusing a demo file whose demo is gone.
import { execFile, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, REDIS_URL, RUN_PREFIX } from './helpers.ts';

const REPO = fileURLToPath(new URL('..', import.meta.url));
const TSX = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

function run(script: string, args: string[], env: NodeJS.ProcessEnv, cwd = REPO): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', TSX, join(REPO, script), ...args], { cwd, env, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stdout, stderr });
    });
  });
}

describe('npm run keys', () => {
  let dir = '';
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-keys-'));
    writeFileSync(join(dir, 'tenants.json'), JSON.stringify({ tenants: [{ id: 'acme' }, { id: 'globex' }] }));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const { REDIS_URL: _r, SWITCHBOARD_CONFIG: _c, ...clean } = process.env;

  it('--help prints the usage and the environment it reads, exit 0', async () => {
    const r = await run('src/callers/api-keys-cli.ts', ['--help'], clean);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('usage: npm run keys -- create --tenant <id>');
    expect(r.stdout).toMatch(/REDIS_URL\s+required/);
    expect(r.stdout).toContain('SWITCHBOARD_CONFIG');
  }, 60_000);

  it('refuses a tenant the tenants file does not list, naming the ones it does', async () => {
    const r = await run('src/callers/api-keys-cli.ts', ['create', '--tenant', 'acmee'], { ...clean, REDIS_URL, SWITCHBOARD_CONFIG: join(dir, 'tenants.json') });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`tenant "acmee" is not in ${join(dir, 'tenants.json')} (tenants: acme, globex)`);
    expect(r.stdout).not.toMatch(/sbk_/);
  }, 60_000);

  it('explains REDIS_URL when it is missing or unreachable (address only, never the password)', async () => {
    const missing = await run('src/callers/api-keys-cli.ts', ['list', '--tenant', 'acme'], clean);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('REDIS_URL is not set: runtime API keys live in Redis');
    expect(missing.stderr).toContain('REDIS_URL=redis://127.0.0.1:6379 npm run keys');
    const port = await freePort();
    const down = await run('src/callers/api-keys-cli.ts', ['list', '--tenant', 'acme'], {
      ...clean,
      REDIS_URL: `redis://u:hunter22@127.0.0.1:${port}`,
      SWITCHBOARD_CONFIG: join(dir, 'tenants.json'),
    });
    expect(down.code).toBe(2);
    expect(down.stderr).toContain(`cannot reach Redis at 127.0.0.1:${port} (ECONNREFUSED): is it running, and is REDIS_URL the one your gateway uses?`);
    expect(down.stderr).not.toContain('hunter22');
  }, 60_000);

  it('issued keys expire: the gateway default without --expires-in, the given lifetime with it, refused above the maximum', async () => {
    const prefix = `${RUN_PREFIX}:keys-cli`;
    const env = { ...clean, REDIS_URL, SWITCHBOARD_CONFIG: join(dir, 'tenants.json'), SWITCHBOARD_KEY_PREFIX: prefix };
    const expiry = (stdout: string) => Date.parse(/expires ([0-9T:.Z-]+)\)/.exec(stdout)?.[1] ?? '');
    const started = Date.now();
    const byDefault = await run('src/callers/api-keys-cli.ts', ['create', '--tenant', 'acme'], env);
    expect(byDefault.code).toBe(0);
    const day = 86_400_000;
    expect(expiry(byDefault.stdout)).toBeGreaterThanOrEqual(started + 90 * day - 1000);
    expect(expiry(byDefault.stdout)).toBeLessThanOrEqual(Date.now() + 90 * day);
    const short = await run('src/callers/api-keys-cli.ts', ['create', '--tenant', 'acme', '--expires-in', '2h'], env);
    expect(short.code).toBe(0);
    expect(expiry(short.stdout)).toBeGreaterThanOrEqual(started + 2 * 3600_000 - 1000);
    expect(expiry(short.stdout)).toBeLessThanOrEqual(Date.now() + 2 * 3600_000);
    // The operator's maximum applies here as it does to createApiKey.
    const tooLong = await run('src/callers/api-keys-cli.ts', ['create', '--tenant', 'acme', '--expires-in', '2h'], {
      ...env,
      SWITCHBOARD_API_KEY_MAX_TTL_SECONDS: '3600',
      SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS: '600',
    });
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toContain('--expires-in must be between 1s and 3600s');
    expect(tooLong.stdout).not.toMatch(/sbk_/);
    const listed = await run('src/callers/api-keys-cli.ts', ['list', '--tenant', 'acme'], env);
    expect(listed.stdout.split('\n').filter((l) => l.includes(' expires 20'))).toHaveLength(2);
  }, 120_000);
});

describe('npm run demo:change', () => {
  let cwd = '';
  beforeAll(() => {
    cwd = mkdtempSync(join(tmpdir(), 'sb-demo-change-'));
    mkdirSync(join(cwd, '.tmp'));
  });
  afterAll(() => rmSync(cwd, { recursive: true, force: true }));
  const writeState = (state: Record<string, unknown>) => writeFileSync(join(cwd, '.tmp', 'demo.json'), JSON.stringify(state));

  it('says to restart `npm start` when the demo that wrote the file has stopped', async () => {
    const gone = spawn(process.execPath, ['-e', '']);
    await once(gone, 'exit');
    const port = await freePort();
    writeState({ pid: gone.pid, startedAt: '2026-12-01T00:00:00.000Z', gateway: `http://127.0.0.1:${port}/graphql`, emulators: {} });
    const r = await run('src/demo-change.ts', [], process.env, cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`(pid ${gone.pid}, started 2026-12-01T00:00:00.000Z) is not running any more: restart the demo with \`npm start\``);
  }, 60_000);

  it('says the file is stale when the recorded demo does not answer', async () => {
    const port = await freePort();
    writeState({ pid: process.pid, gateway: `http://127.0.0.1:${port}/graphql`, emulators: { stripe: { url: `http://127.0.0.1:${port}`, token: 'x' } } });
    const r = await run('src/demo-change.ts', [], process.env, cwd);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`does not answer (gateway http://127.0.0.1:${port}/graphql, stripe emulator http://127.0.0.1:${port}): the file is stale`);
    expect(r.stderr).toContain('`npm start`');
  }, 60_000);
});
