// Startup and shutdown of the real entry point (src/main.ts) as an operator meets them: Redis
// unreachable, port in use, an unset webhook-secret variable, a misspelt key in the tenants file,
// /readyz's reasons, and `npm start` stopped by a signal leaving nothing behind.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, parseTenantsFile } from '../src/config.ts';
import { freePort, startPrivateRedis, startStack, type PrivateRedis, type Stack } from './helpers.ts';

const PROD = { NODE_ENV: 'production', SWITCHBOARD_MASTER_KEYS: `k1:${randomBytes(32).toString('base64')}`, LOG_LEVEL: 'info' };

/** Runs src/main.ts to its exit; resolves with the exit code and its output. */
async function runMain(env: Record<string, string>): Promise<{ code: number | null; stderr: string; stdout: string }> {
  const { REDIS_URL: _r, SWITCHBOARD_CONFIG: _c, ...rest } = process.env;
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...rest, PORT: '0', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.on('data', (b: Buffer) => (stderr += b.toString()));
  child.stdout!.on('data', (b: Buffer) => (stdout += b.toString()));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { code, stderr, stdout };
}

describe('startup refusals (real entry point)', () => {
  let dir = '';
  const file = (name: string, body: unknown) => {
    const path = join(dir, name);
    writeFileSync(path, JSON.stringify(body));
    return path;
  };
  const tenant = (connection: Record<string, unknown>) => ({
    tenants: [{ id: 't1', connections: [{ id: 'c1', provider: 'stripe', credentials: { type: 'static', token: 'sk_test_x' }, ...connection }] }],
  });
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'sb-startup-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('Redis unreachable: exits 2 within the startup timeout with one line naming the address, never the password', async () => {
    const port = await freePort();
    const r = await runMain({
      ...PROD,
      SWITCHBOARD_CONFIG: file('ok.json', tenant({})),
      REDIS_URL: `redis://default:s3cretpass@127.0.0.1:${port}`,
      REDIS_STARTUP_TIMEOUT_MS: '1500',
    });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual([
      expect.stringContaining(`switchboard: Redis at redis://127.0.0.1:${port} did not answer within 1500 ms (ECONNREFUSED): start Redis or fix REDIS_URL`),
    ]);
    expect(r.stderr + r.stdout).not.toContain('s3cretpass');
    expect(r.stdout).not.toContain('Redis error'); // no reconnect warnings
    // Before, the process kept retrying (> 80 s, 424 warnings); the test's timeout bounds it now.
  }, 60_000);

  it('port in use: one line saying to set PORT, exit 2', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as { port: number }).port;
    try {
      const r = await runMain({ ...PROD, SWITCHBOARD_CONFIG: file('ok.json', tenant({})), PORT: String(port) });
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([
        `switchboard: port ${port} on 127.0.0.1 is already in use: set PORT to a free port (or stop the process listening there)`,
      ]);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  }, 60_000);

  it('a webhook secret read from an unset or empty variable refuses to start, naming the variable', async () => {
    const path = file('hook.json', tenant({ webhookSecret: { type: 'env', variable: 'SB_TEST_UNSET_WEBHOOK_SECRET' } }));
    for (const value of [undefined, '']) {
      const r = await runMain({ ...PROD, SWITCHBOARD_CONFIG: path, ...(value === undefined ? {} : { SB_TEST_UNSET_WEBHOOK_SECRET: value }) });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain('tenant t1, connection c1: webhookSecret: environment variable SB_TEST_UNSET_WEBHOOK_SECRET is not set (or empty)');
    }
  }, 60_000);

  it('the tenants file rejects unknown keys, naming their path', () => {
    const text = JSON.stringify({
      tenants: [{ id: 't1', conections: [], connections: [{ id: 'c1', provider: 'stripe', credentials: { type: 'static', token: 'x' }, webhookSecrett: {} }] }],
      provider: {},
    });
    let err: unknown;
    try {
      parseTenantsFile(text, 'tenants.json');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const message = (err as Error).message;
    expect(message).toContain('tenants.0.conections: unknown key');
    expect(message).toContain('tenants.0.connections.0.webhookSecrett: unknown key');
    expect(message).toContain('provider: unknown key');
  });
});

describe('/healthz and /readyz', () => {
  let redis: PrivateRedis;
  let stack: Stack;
  beforeAll(async () => {
    redis = await startPrivateRedis();
    stack = await startStack({ redisUrl: redis.url, scale: { contacts: 5, invoices: 5, orders: 5 } });
  });
  afterAll(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('liveness answers whatever Redis does; readiness says why it is not ready', async () => {
    const base = stack.gateway.url.replace(/\/graphql$/, '');
    await expect.poll(async () => (await fetch(`${base}/readyz`)).status, { timeout: 10_000 }).toBe(200);
    expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ status: 'ready', redis: 'up' });
    await redis.stop();
    const ready = await fetch(`${base}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.json()).toEqual({
      status: 'not ready',
      redis: 'unreachable',
      reasons: [expect.stringMatching(/^redis: no answer to PING within \d+ ms$/)],
    });
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  }, 30_000);
});

describe('npm start and signals', () => {
  let npm: ChildProcess | null = null;
  afterAll(async () => {
    if (npm && npm.exitCode === null) {
      npm.kill('SIGKILL');
      await once(npm, 'exit');
    }
  });

  it('SIGTERM to `npm start` drains the gateway and leaves no process behind', async () => {
    const { REDIS_URL: _r, SWITCHBOARD_CONFIG: _c, ...rest } = process.env;
    npm = spawn('npm', ['start', '--silent'], { env: { ...rest, PORT: '0', LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
    const child = npm;
    let out = '';
    await new Promise<void>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => {
        out += b.toString();
        if (out.includes('switchboard is listening')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`npm start exited ${code}: ${out}`)));
    });
    const descendants = (pid: number): number[] => {
      let kids: number[] = [];
      try {
        kids = execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
          .split('\n')
          .map(Number)
          .filter(Boolean);
      } catch {
        // ps exits 1 when the process has no children
      }
      return kids.flatMap((k) => [k, ...descendants(k)]);
    };
    const tree = descendants(child.pid!);
    expect(tree.length).toBeGreaterThan(0);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(() => tree.filter(alive), { timeout: 5_000 }).toEqual([]);
    expect(out).toContain('drain: closed Redis connections; stopped');
  }, 60_000);
});
