// Operator commands for the credential vault (see src/accounts/vault.ts for the key format):
//   tsx src/accounts/vault-cli.ts generate-key <kid>     prints a new "<kid>:<base64>" entry for
//                                                     SWITCHBOARD_MASTER_KEYS (keep it secret)
//   tsx src/accounts/vault-cli.ts rewrap <old kid|all>   re-wraps records' data keys under
//                                                     SWITCHBOARD_MASTER_KEY_ID (needs REDIS_URL)
// Exit codes: 0 done, 1 some records could not be re-wrapped, 2 usage or configuration error.
import { ConfigError } from '../config.ts';
import { CredentialVault, createVaultStore, generateMasterKeyEntry, loadVaultKeyring } from './vault.ts';

async function run(argv: string[]): Promise<number> {
  const [command, arg] = argv;
  if (command === 'generate-key' && arg) {
    process.stdout.write(`${generateMasterKeyEntry(arg)}\n`);
    return 0;
  }
  if (command === 'rewrap' && arg) {
    const redisUrl = process.env.REDIS_URL;
    if (!redisUrl) throw new ConfigError('rewrap needs REDIS_URL: without it the vault lives in the gateway process memory');
    const keyring = loadVaultKeyring(process.env, 'production');
    const store = await createVaultStore({ redisUrl, namespace: `${process.env.SWITCHBOARD_KEY_PREFIX ?? 'sb'}:vault` });
    try {
      const vault = new CredentialVault({ keyv: store.keyv, keyring });
      const result = await vault.rewrap(arg);
      process.stdout.write(`scanned ${result.scanned}, re-wrapped ${result.rewrapped} under "${keyring.activeKid}", failed ${result.failed.length}\n`);
      for (const f of result.failed) process.stdout.write(`  failed: tenant ${f.tenantId} connection ${f.connectionId} (${f.reason})\n`);
      return result.failed.length ? 1 : 0;
    } finally {
      await store.close();
    }
  }
  process.stderr.write('usage: vault-cli generate-key <kid> | rewrap <old kid|all>\n');
  return 2;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`vault-cli: ${err instanceof ConfigError ? err.message : (err as Error).message}\n`);
    process.exit(2);
  },
);
