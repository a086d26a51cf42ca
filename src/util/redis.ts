// Every Redis client of the gateway is made here, so one setting decides between a single Redis and
// a Redis Cluster for all of them: REDIS_URL=redis://host:6379 (one server, as always) or
// REDIS_URL=redis+cluster://[user:password@]host1:port1,host2:port2 (any reachable masters of a
// cluster; the rest of the topology is discovered). `rediss+cluster://` turns TLS on. Two client
// libraries are in play: ioredis (queues, scripts, streams, locks) and node-redis (under
// @keyv/redis: the cache and the vault); both get the same nodes and credentials.
//
// In a cluster, every command or script touching several keys must name keys of one hash slot: the
// keys are built with hashTag() (below) so related keys share a slot while tenants and connections
// spread over the shards.
import { createClient, createCluster, type RedisClientType, type RedisClusterType } from '@keyv/redis';
import { Cluster, Redis, type RedisOptions } from 'ioredis';

export type RedisClient = Redis | Cluster;
/** node-redis client for @keyv/redis: a single connection or a cluster. */
export type KeyvRedisClient = RedisClientType | RedisClusterType;

export interface ClusterAddress {
  nodes: Array<{ host: string; port: number }>;
  username?: string;
  password?: string;
  tls: boolean;
}

const CLUSTER_SCHEMES = new Set(['redis+cluster:', 'rediss+cluster:']);

export function isClusterUrl(url: string): boolean {
  return CLUSTER_SCHEMES.has(url.slice(0, url.indexOf(':') + 1).toLowerCase());
}

/**
 * Parses `redis+cluster://[user:password@]host:port,host:port`; null for any other URL. Throws on a
 * cluster URL without nodes or with a node lacking a port (the URL class cannot parse a host list).
 */
export function parseClusterUrl(url: string): ClusterAddress | null {
  if (!isClusterUrl(url)) return null;
  const scheme = url.slice(0, url.indexOf(':') + 1).toLowerCase();
  let rest = url.slice(url.indexOf('//') + 2).replace(/\/.*$/, '');
  let username: string | undefined;
  let password: string | undefined;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const auth = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const colon = auth.indexOf(':');
    username = decodeURIComponent(colon >= 0 ? auth.slice(0, colon) : auth) || undefined;
    password = colon >= 0 ? decodeURIComponent(auth.slice(colon + 1)) : undefined;
  }
  const nodes = rest
    .split(',')
    .filter((n) => n.length > 0)
    .map((n) => {
      const m = /^(\[[^\]]+\]|[^:]+):(\d{1,5})$/.exec(n);
      if (!m) throw new Error(`REDIS_URL: cluster node "${n}" is not host:port`);
      return { host: (m[1] as string).replace(/^\[|\]$/g, ''), port: Number(m[2]) };
    });
  if (nodes.length === 0) throw new Error('REDIS_URL: a redis+cluster:// URL names at least one node (host:port)');
  return { nodes, ...(username ? { username } : {}), ...(password ? { password } : {}), tls: scheme === 'rediss+cluster:' };
}

/**
 * An ioredis client for `url`: a Cluster for a cluster URL, a Redis otherwise. `options` are the
 * per-connection options (retries, timeouts, offline queue), applied to every node of a cluster.
 */
export function createRedis(url: string, options: RedisOptions = {}): RedisClient {
  const cluster = parseClusterUrl(url);
  if (!cluster) return new Redis(url, options);
  const { lazyConnect, enableOfflineQueue, ...perNode } = options;
  return new Cluster(cluster.nodes, {
    ...(lazyConnect !== undefined ? { lazyConnect } : {}),
    ...(enableOfflineQueue !== undefined ? { enableOfflineQueue } : {}),
    // A blocking reader (maxRetriesPerRequest: null) waits through a failover instead of failing.
    ...(options.maxRetriesPerRequest === null ? { clusterRetryStrategy: (times: number) => Math.min(100 * times, 2_000) } : {}),
    // A caller that gives up on the first failure (the startup probe) gives up on the cluster too.
    ...(options.retryStrategy ? { clusterRetryStrategy: options.retryStrategy } : {}),
    redisOptions: {
      ...perNode,
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(cluster.tls ? { tls: {} } : {}),
    },
  });
}

/** A node-redis client (for @keyv/redis) for `url`; not yet connected. */
export function createKeyvRedisClient(
  url: string,
  options: { disableOfflineQueue?: boolean; connectTimeoutMs?: number; reconnectStrategy?: (retries: number) => number } = {},
): KeyvRedisClient {
  const socket = {
    ...(options.connectTimeoutMs !== undefined ? { connectTimeout: options.connectTimeoutMs } : {}),
    ...(options.reconnectStrategy ? { reconnectStrategy: options.reconnectStrategy } : {}),
  };
  const cluster = parseClusterUrl(url);
  if (!cluster) {
    return createClient({ url, ...(options.disableOfflineQueue ? { disableOfflineQueue: true } : {}), socket }) as RedisClientType;
  }
  return createCluster({
    rootNodes: cluster.nodes.map((n) => ({ socket: { host: n.host, port: n.port } })),
    defaults: {
      ...(cluster.username ? { username: cluster.username } : {}),
      ...(cluster.password ? { password: cluster.password } : {}),
      ...(options.disableOfflineQueue ? { disableOfflineQueue: true } : {}),
      socket: { ...socket, ...(cluster.tls ? { tls: true as const } : {}) },
    },
  }) as unknown as RedisClusterType;
}

/** "host:port" (or the node list of a cluster) without credentials, for messages. */
export function redisAddress(url: string): string {
  const cluster = parseClusterUrl(url);
  if (cluster) return `cluster ${cluster.nodes.map((n) => `${n.host}:${n.port}`).join(',')}`;
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}:${u.port || '6379'}`;
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

/**
 * `{part}`: a Redis Cluster hash tag. Keys that one script or transaction touches together carry
 * the same tag (so they share a slot); the tag names a tenant or a connection (never one global
 * value), so the load spreads over the shards. Braces inside the value are escaped: an unescaped
 * "}" would end the tag early. Harmless on a single Redis (the braces are just characters).
 */
export function hashTag(...parts: string[]): string {
  return `{${parts.map((p) => p.replace(/[{}%]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)).join(':')}}`;
}

/** Whether a node-redis client can take commands now (a cluster: once its slots are known). */
export function keyvClientReady(client: KeyvRedisClient): boolean {
  return 'isReady' in client ? client.isReady : client.isOpen;
}

/** PING through a node-redis client (a cluster: to any one of its nodes). */
export function keyvClientPing(client: KeyvRedisClient): Promise<string> {
  return 'isReady' in client ? client.ping() : client.sendCommand<string>(undefined, true, ['PING']);
}

/**
 * MGET for keys that may live in different slots: one MGET on a single Redis; on a cluster one GET
 * per key, sent together (MGET across slots is refused with CROSSSLOT).
 */
export function getMany(redis: RedisClient, keys: string[]): Promise<Array<string | null>> {
  if (keys.length === 0) return Promise.resolve([]);
  if (redis instanceof Cluster) return Promise.all(keys.map((k) => redis.get(k)));
  return redis.mget(keys);
}

/**
 * A key in the same hash slot as `key` (a key without a tag, so its slot is the hash of all of it):
 * "{<key>}:<name>". Lets a script pair an existing key, whose name must not change (it holds data
 * from earlier versions), with a companion key.
 */
export function sameSlotAs(key: string, name: string): string {
  if (/[{}]/.test(key)) throw new Error(`sameSlotAs: "${key}" already has a hash tag`);
  return `{${key}}:${name}`;
}

/**
 * Commands sent to one plain Redis client within one run of synchronous code (and the promise jobs
 * queued before the flush) leave in one socket write instead of one write each: the socket is
 * corked at the first command and uncorked in a microtask. Each write is a syscall (~0.1 ms of CPU
 * on these VMs); under concurrent requests the commands of many share one. Measured on the shared
 * connection: warm response-cache hits with Redis +12–32 % requests/s; one cold query alone, no
 * change (docs/benchmarks.md, "Session 12"). A Cluster's connections are left as they are.
 */
export function batchWrites(redis: RedisClient): void {
  if (!(redis instanceof Redis)) return;
  const send = redis.sendCommand.bind(redis);
  let corked: Redis['stream'] | null = null;
  const flush = () => {
    const stream = corked;
    corked = null;
    stream?.uncork();
  };
  redis.sendCommand = ((command, stream) => {
    const socket = redis.stream;
    if (corked === null && redis.status === 'ready' && socket && socket.writable) {
      corked = socket;
      socket.cork();
      queueMicrotask(flush);
    }
    return send(command, stream);
  }) as Redis['sendCommand'];
}

/**
 * The client with these Lua scripts as commands of its own, each defined once per client. ioredis
 * sends a defined command by its SHA, and falls back to EVAL when Redis has forgotten the script (a
 * restart empties its script cache): the script text is not written and hashed again on every call.
 */
export function withScripts<Commands extends object>(
  redis: RedisClient,
  scripts: Record<keyof Commands & string, { lua: string; numberOfKeys?: number }>,
): RedisClient & Commands {
  for (const [name, definition] of Object.entries(scripts) as Array<[string, { lua: string; numberOfKeys?: number }]>)
    if (!(name in redis)) redis.defineCommand(name, definition);
  return redis as RedisClient & Commands;
}
