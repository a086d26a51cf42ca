// Operator export of a tenant's audit trail, one JSON object per line, oldest first:
//   npm run audit -- export --tenant <id> [--since <ISO time>]
// Reads the stream the gateway writes (<SWITCHBOARD_KEY_PREFIX (default sb)>:audit:<tenant>);
// needs REDIS_URL. Exit codes: 0 done, 2 usage or configuration error (Redis unreachable too).
import { parseArgs } from 'node:util';
import { createRedis, type RedisClient } from '../util/redis.ts';
import { ID_PATTERN } from '../config.ts';
import { RedisAuditLog } from './log.ts';

const USAGE = `usage: audit export --tenant <id> [--since <ISO 8601 time>]
needs REDIS_URL; key prefix from SWITCHBOARD_KEY_PREFIX (default "sb")
`;

async function main(argv: string[]): Promise<number> {
  let values: { tenant?: string | undefined; since?: string | undefined };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      options: { tenant: { type: 'string' }, since: { type: 'string' } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    return 2;
  }
  if (positionals[0] !== 'export' || positionals.length !== 1 || !values.tenant || !ID_PATTERN.test(values.tenant)) {
    process.stderr.write(USAGE);
    return 2;
  }
  const since = values.since ? new Date(values.since) : null;
  if (since && Number.isNaN(since.getTime())) {
    process.stderr.write(`--since is not a date: ${values.since}\n`);
    return 2;
  }
  const url = process.env.REDIS_URL;
  if (!url) {
    process.stderr.write(`REDIS_URL is not set\n${USAGE}`);
    return 2;
  }
  const redis = createRedis(url, { maxRetriesPerRequest: 1, connectTimeout: 2_000, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
    const log = new RedisAuditLog(redis, process.env.SWITCHBOARD_KEY_PREFIX ?? 'sb', () => Number.POSITIVE_INFINITY);
    for await (const entry of log.export(values.tenant)) {
      if (since && entry.at < since.toISOString()) continue;
      process.stdout.write(`${JSON.stringify(entry)}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`cannot read the audit log: ${(err as Error).message}\n`);
    return 2;
  } finally {
    redis.disconnect();
  }
}

process.exitCode = await main(process.argv.slice(2));
