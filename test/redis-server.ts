// Throwaway redis-server processes for the test suite and the benchmarks: each on a free loopback
// port with its own temporary directory, so a run never reads or writes a Redis someone runs for
// other work. The suite starts one for the whole run (test/global-setup.ts); tests that stop or
// restart Redis start their own.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const REDIS_SERVER_MISSING =
  'redis-server was not found on PATH: install it (Debian/Ubuntu: `apt-get install redis-server`, macOS: `brew install redis`) or point TEST_REDIS_URL at a Redis you can spare';

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Kills the server (SIGKILL by default), waits `downMs`, starts it again on the same port and directory. */
  restart(options?: { signal?: 'SIGTERM' | 'SIGKILL'; downMs?: number }): Promise<void>;
  /** Tail of the server's own log (for failure messages). */
  output(): string;
  stop(): Promise<void>;
}

export interface RedisServerOptions {
  /** AOF with `appendfsync always`: the data survives a kill and restart. Off: nothing is persisted. */
  durable?: boolean;
  /** More redis-server arguments (e.g. cluster mode: test/redis-cluster.ts). */
  extraArgs?: string[];
}

export function hasRedisServer(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

// Ports handed out to servers that must know their port before they listen (an OAuth redirect URI,
// a Redis restarted on the same port). They come from below Linux's ephemeral range (32768–60999),
// where `listen(0)` and outgoing connections never land, so nothing else in the run can take one
// between the check here and the server's own listen. Each vitest worker (or process) walks its own
// block, so two workers never hand out the same port; the bind check skips one held by anyone else.
const PORT_FLOOR = 20_000;
const PORT_CEILING = 32_000;
const PORT_BLOCK = 300;
const portBlocks = Math.floor((PORT_CEILING - PORT_FLOOR) / PORT_BLOCK);
const portOwner = Number(process.env.VITEST_POOL_ID ?? process.env.VITEST_WORKER_ID ?? process.pid);
const portBase = PORT_FLOOR + (portOwner % portBlocks) * PORT_BLOCK;
let portCursor = Math.floor(Math.random() * PORT_BLOCK);

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host: '127.0.0.1', exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_BLOCK; tries++) {
    const port = portBase + (portCursor++ % PORT_BLOCK);
    if (await canBind(port)) return port;
  }
  throw new Error(`no free loopback port in ${portBase}–${portBase + PORT_BLOCK - 1}`);
}

export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), options.durable ? 'sb-redis-aof-' : 'sb-redis-'));
  const persistence = options.durable ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no'];
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', ...persistence, '--dir', dir, ...(options.extraArgs ?? [])];
  let out = '';
  let child: ChildProcess | null = null;
  const launch = () =>
    new Promise<void>((resolve, reject) => {
      const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      let ready = false;
      const onData = (b: Buffer) => {
        out = (out + b.toString()).slice(-20_000); // keep draining the pipes; remember the tail
        if (!ready && out.includes('Ready to accept connections')) {
          ready = true;
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', onData);
      proc.once('exit', (code, signal) => {
        if (!ready) reject(new Error(`redis-server exited early (${code ?? signal}): ${out.slice(-500)}`));
      });
      proc.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT' ? new Error(REDIS_SERVER_MISSING) : err));
    });
  const kill = async (signal: 'SIGTERM' | 'SIGKILL') => {
    const proc = child as ChildProcess | null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill(signal);
    await exited;
  };
  try {
    await launch();
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  let stopped = false;
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    output: () => out,
    async restart({ signal = 'SIGKILL', downMs = 0 } = {}) {
      out = ''; // the readiness check must see the new process's line
      await kill(signal);
      if (downMs > 0) await new Promise((r) => setTimeout(r, downMs));
      await launch();
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      await kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
