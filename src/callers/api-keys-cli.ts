// Operator commands for runtime tenant API keys (see src/callers/api-keys.ts for the key format and
// the Redis layout). Needs REDIS_URL: keys issued into a CLI process's memory would be useless.
//   tsx src/callers/api-keys-cli.ts create --tenant <id> [--scopes read,subscribe,admin] [--label text] [--expires-in 30d]
//       prints the new key once (it is stored only as a SHA-256 digest), its key id and expiry; the
//       lifetime has the same default and maximum as keys minted with createApiKey
//       (SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS, SWITCHBOARD_API_KEY_MAX_TTL_SECONDS)
//   tsx src/callers/api-keys-cli.ts revoke --tenant <id> --id <keyId>
//   tsx src/callers/api-keys-cli.ts list --tenant <id>      ids, scopes, labels, dates; never keys
//   --help: usage and the environment it reads. The tenant must be in SWITCHBOARD_CONFIG's file.
// Keys live under "<SWITCHBOARD_KEY_PREFIX (default sb)>:apikey:…", where the gateway looks.
// Exit codes: 0 done, 1 no such key, 2 usage, input or configuration error (Redis unreachable too).
import { parseArgs } from 'node:util';
import { ConfigError, loadTenantsFile, parseEnv } from '../config.ts';
import { ApiKeyInputError, RedisApiKeyStore, type ApiKeyScope } from './api-keys.ts';

const USAGE = `usage: npm run keys -- create --tenant <id> [--scopes read,subscribe,admin] [--label text] [--expires-in <n>s|m|h|d]
       npm run keys -- revoke --tenant <id> --id <keyId>
       npm run keys -- list --tenant <id>
       npm run keys -- --help

Issues, revokes and lists the runtime API keys of a tenant. The new key is printed once; Switchboard
keeps only its SHA-256 digest. Keys expire: --expires-in (e.g. 3600s, 12h, 30d), by default after
SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS (90 days), at most SWITCHBOARD_API_KEY_MAX_TTL_SECONDS (365 days).

Environment (the same values as the gateway's):
  REDIS_URL              required: where the gateway replicas read runtime keys (redis://host:6379)
  SWITCHBOARD_CONFIG     the gateway's tenants file: the tenant must be listed there (unset: not checked)
  SWITCHBOARD_KEY_PREFIX key prefix (default "sb")
  SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS, SWITCHBOARD_API_KEY_MAX_TTL_SECONDS   key lifetime default and maximum
`;

class UsageError extends Error {}

// Which flags each command takes; anything else is a usage error rather than silently ignored
// (a stray --id on create, say, is likely a mistake the operator wants to hear about).
const FLAGS: Record<string, { required: string[]; optional: string[] }> = {
  create: { required: ['tenant'], optional: ['scopes', 'label', 'expires-in'] },
  revoke: { required: ['tenant', 'id'], optional: [] },
  list: { required: ['tenant'], optional: [] },
};

function parse(argv: string[]): { command: string; flags: Record<string, string | undefined> } {
  let parsed: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    parsed = parseArgs({
      args: argv,
      options: {
        tenant: { type: 'string' },
        scopes: { type: 'string' },
        label: { type: 'string' },
        id: { type: 'string' },
        'expires-in': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (parsed.values['help']) return { command: 'help', flags: {} };
  const [command, ...extra] = parsed.positionals;
  const spec = command ? FLAGS[command] : undefined;
  if (!command || !spec) throw new UsageError(command ? `unknown command "${command}"` : 'no command');
  if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const flags = parsed.values as Record<string, string | undefined>;
  for (const name of spec.required) if (!flags[name]) throw new UsageError(`${command} needs --${name}`);
  for (const name of Object.keys(flags)) {
    if (!spec.required.includes(name) && !spec.optional.includes(name)) throw new UsageError(`${command} does not take --${name}`);
  }
  return { command, flags };
}

async function run(argv: string[]): Promise<number> {
  const { command, flags } = parse(argv);
  if (command === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const tenant = flags['tenant'] as string;
  const redisUrl = process.env.REDIS_URL;
  if (!redisUrl)
    throw new ConfigError(
      'REDIS_URL is not set: runtime API keys live in Redis, where every gateway replica reads them. Set it to the Redis ' +
        'your gateway uses, e.g. REDIS_URL=redis://127.0.0.1:6379 npm run keys -- list --tenant acme ' +
        '(a gateway started without REDIS_URL keeps keys in its own memory: use the createApiKey mutation there)',
    );
  checkTenant(tenant, process.env.SWITCHBOARD_CONFIG);
  const prefix = process.env.SWITCHBOARD_KEY_PREFIX || 'sb';
  // ioredis reports a refused connection as "max retries per request"; keep the cause to name it.
  let connectionError: Error | null = null;
  const store = new RedisApiKeyStore(redisUrl, prefix, { onError: (err) => (connectionError = err as Error) });
  try {
    return await execute(store, command, tenant, flags);
  } catch (err) {
    const cause = connectionError as Error | null;
    if (cause && !(err instanceof ApiKeyInputError))
      throw new Error(
        `cannot reach Redis at ${redisAddress(redisUrl)} (${(cause as NodeJS.ErrnoException).code ?? cause.message}): is it running, and is REDIS_URL the one your gateway uses?`,
      );
    throw err;
  } finally {
    await store.close();
  }
}

const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** --expires-in in seconds: the gateway's default when absent, refused above its maximum (as createApiKey does). */
function keyLifetime(given: string | undefined): number {
  const env = parseEnv(process.env);
  const max = env.SWITCHBOARD_API_KEY_MAX_TTL_SECONDS;
  if (given === undefined) return env.SWITCHBOARD_API_KEY_DEFAULT_TTL_SECONDS;
  const m = /^(\d{1,9})([smhd])$/.exec(given.trim());
  if (!m) throw new UsageError(`--expires-in "${given}": a whole number with a unit, s, m, h or d (e.g. 3600s, 12h, 30d)`);
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]!]!;
  if (seconds <= 0 || seconds > max)
    throw new UsageError(`--expires-in must be between 1s and ${max}s (SWITCHBOARD_API_KEY_MAX_TTL_SECONDS, ${Math.floor(max / 86_400)} days)`);
  return seconds;
}

/** The tenant must be one the gateway serves: a typo would otherwise issue a key nobody can use. */
function checkTenant(tenant: string, configPath: string | undefined): void {
  if (!configPath) {
    process.stderr.write(`note: SWITCHBOARD_CONFIG is not set, so tenant "${tenant}" was not checked against the gateway's tenants file\n`);
    return;
  }
  const { tenants } = loadTenantsFile(configPath);
  if (!tenants.some((t) => t.id === tenant))
    throw new ConfigError(`tenant "${tenant}" is not in ${configPath} (tenants: ${tenants.map((t) => t.id).join(', ')})`);
}

/** host:port of a Redis URL, without user or password. */
function redisAddress(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || 6379}`;
  } catch {
    return '(unparseable REDIS_URL)';
  }
}

async function execute(store: RedisApiKeyStore, command: string, tenant: string, flags: Record<string, string | undefined>): Promise<number> {
  if (command === 'create') {
    const ttlSeconds = keyLifetime(flags['expires-in']);
    const scopes = flags['scopes']
      ?.split(',')
      .map((s) => s.trim())
      .filter(Boolean) as ApiKeyScope[] | undefined;
    const { info, key } = await store.create(tenant, {
      ttlSeconds,
      ...(scopes ? { scopes } : {}),
      ...(flags['label'] !== undefined ? { label: flags['label'] } : {}),
    });
    process.stdout.write(
      `created key ${info.id} for tenant ${info.tenantId} (scopes: ${info.scopes.join(',')}${info.label ? `; label: ${info.label}` : ''}; expires ${info.expiresAt})\n` +
        `${key}\n` +
        'This key will not be shown again: store it now. Switchboard keeps only its SHA-256 digest.\n',
    );
    return 0;
  }
  if (command === 'revoke') {
    const id = flags['id'] as string;
    if (await store.revoke(tenant, id)) {
      process.stdout.write(`revoked key ${id} of tenant ${tenant}\n`);
      return 0;
    }
    process.stderr.write(`api-keys-cli: tenant ${tenant} has no key ${id}\n`);
    return 1;
  }
  const keys = await store.list(tenant);
  if (keys.length === 0) process.stdout.write(`tenant ${tenant} has no API keys\n`);
  for (const k of keys)
    process.stdout.write(`${k.id}  ${k.createdAt}  expires ${k.expiresAt ?? 'never'}  ${k.scopes.join(',')}${k.label ? `  ${k.label}` : ''}\n`);
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Usage, input (ApiKeyInputError), configuration (ConfigError) and Redis failures alike: 2.
    process.stderr.write(`api-keys-cli: ${(err as Error).message}\n${err instanceof UsageError ? USAGE : ''}`);
    process.exit(2);
  },
);
