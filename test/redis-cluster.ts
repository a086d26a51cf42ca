// A throwaway 3-master Redis Cluster for tests: three redis-servers in cluster mode on free loopback
// ports (each in its own temporary directory, nothing persisted), joined by `redis-cli --cluster
// create` with no replicas. Starting it takes ~1-2 s; stop() kills all three.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { startRedisServer, type RedisServer } from './redis-server.ts';

const run = promisify(execFile);

export interface RedisCluster {
  /** REDIS_URL for the gateway: redis+cluster://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3 */
  url: string;
  nodes: RedisServer[];
  stop(): Promise<void>;
}

export async function startRedisCluster(masters = 3): Promise<RedisCluster> {
  const nodes: RedisServer[] = [];
  const stop = async () => void (await Promise.all(nodes.map((n) => n.stop())));
  try {
    for (let i = 0; i < masters; i++) {
      nodes.push(
        await startRedisServer({
          extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '5000'],
        }),
      );
    }
    const addresses = nodes.map((n) => `127.0.0.1:${n.port}`);
    await run('redis-cli', ['--cluster', 'create', ...addresses, '--cluster-replicas', '0', '--cluster-yes'], { timeout: 30_000 });
    await untilReady(nodes.map((n) => ({ host: '127.0.0.1', port: n.port })));
    return { url: `redis+cluster://${addresses.join(',')}`, nodes, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** Waits until every node agrees the cluster is up and all 16384 slots are served. */
async function untilReady(startup: Array<{ host: string; port: number }>): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const states = await Promise.all(
      startup.map(async ({ port }) => {
        const { stdout } = await run('redis-cli', ['-p', String(port), 'cluster', 'info']);
        return /cluster_state:ok/.test(stdout) && /cluster_slots_ok:16384/.test(stdout);
      }),
    );
    if (states.every(Boolean)) return;
    if (Date.now() > deadline) throw new Error('the test cluster did not reach cluster_state:ok within 20 s');
    await new Promise((r) => setTimeout(r, 100));
  }
}
