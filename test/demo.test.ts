// `npm start` as a newcomer runs it: the real entry point in a child process, no configuration.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { graphql } from './helpers.ts';

const KEY = 'sb_demo_test_key_0123456789';
const TSX = new URL('../node_modules/tsx/dist/loader.mjs', import.meta.url).href;
const MAIN = fileURLToPath(new URL('../src/main.ts', import.meta.url));

function startMain(env: Record<string, string>): ChildProcess {
  const { REDIS_URL: _r, SWITCHBOARD_CONFIG: _c, ...rest } = process.env;
  return spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], { env: { ...rest, LOG_LEVEL: 'silent', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
}

describe('zero-config demo (npm start)', () => {
  let child: ChildProcess;
  let url = '';
  let output = '';
  beforeAll(async () => {
    child = startMain({ PORT: '0', SWITCHBOARD_DEMO_API_KEY: KEY });
    url = await new Promise<string>((resolve, reject) => {
      child.stdout!.on('data', (b: Buffer) => {
        output += b.toString();
        const m = /running at (http:\/\/\S+\/graphql)/.exec(output);
        if (m && output.includes('Demo tenant API key')) resolve(m[1] as string);
      });
      child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}`)));
    });
  });
  afterAll(async () => {
    if (child && child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  });

  it('prints the URL, the demo key and the emulators', () => {
    expect(output).toContain(`Demo tenant API key:  ${KEY}`);
    expect(output).toMatch(/hubspot\s+emulator at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toMatch(/stripe\s+emulator at http:\/\/127\.0\.0\.1:\d+/);
    expect(output).toContain('Cache: in memory');
  });

  it('serves the seeded volumes: ≥500 contacts (some people in both providers), ≥1,000 invoices, ≥300 orders', async () => {
    const count = async (field: string) => {
      const emails: string[] = [];
      let n = 0;
      let after: string | null = null;
      for (let i = 0; i < 30; i++) {
        const sel = field === 'contacts' ? 'emails { address }' : 'id';
        const res: Awaited<
          ReturnType<
            typeof graphql<
              Record<string, { nodes: Array<{ emails?: Array<{ address: string }> }>; pageInfo: { hasNextPage: boolean; endCursor: string | null } }>
            >
          >
        > = await graphql(url, KEY, `query ($after: String) { ${field}(first: 100, after: $after) { nodes { ${sel} } pageInfo { hasNextPage endCursor } } }`, {
          after,
        });
        expect(res.errors).toBeUndefined();
        const page = res.data![field]!;
        n += page.nodes.length;
        for (const node of page.nodes) emails.push(...(node.emails ?? []).map((e) => e.address));
        if (!page.pageInfo.hasNextPage) break;
        after = page.pageInfo.endCursor;
      }
      return { n, emails };
    };
    const contacts = await count('contacts');
    expect(contacts.n).toBeGreaterThanOrEqual(500);
    const seen = new Set<string>();
    const shared = contacts.emails.filter((e) => (seen.has(e) ? true : (seen.add(e), false)));
    expect(shared.length).toBeGreaterThan(0);
    expect((await count('invoices')).n).toBeGreaterThanOrEqual(1000);
    expect((await count('orders')).n).toBeGreaterThanOrEqual(300);
  });

  it('opens Apollo Sandbox preconfigured with the demo key', async () => {
    const page = await fetch(url, { headers: { accept: 'text/html' } });
    const html = await page.text();
    expect(html).toContain('embeddable-sandbox');
    expect(html).toContain(`Bearer ${KEY}`);
    const root = await fetch(url.replace(/\/graphql$/, '/'), { redirect: 'manual' });
    expect(root.status).toBe(302);
  });

  it('stops cleanly on SIGTERM', async () => {
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(0);
  });
});

describe('startup errors', () => {
  it('exits 2 with a precise message for a missing tenants file', async () => {
    const child = startMain({ PORT: '0', SWITCHBOARD_CONFIG: '/nonexistent/tenants.json' });
    let err = '';
    child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(2);
    expect(err).toContain('cannot read tenants file /nonexistent/tenants.json: ENOENT');
  });

  it('production without a vault master key, or with a malformed one, exits 2 naming the problem', async () => {
    const run = async (keys: string) => {
      const child = startMain({ PORT: '0', NODE_ENV: 'production', SWITCHBOARD_MASTER_KEYS: keys });
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code, err };
    };
    const missing = await run('');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain('SWITCHBOARD_MASTER_KEYS is not set');
    const short = await run(`k2026:${Buffer.alloc(16, 1).toString('base64')}`);
    expect(short.code).toBe(2);
    expect(short.err).toContain('key id "k2026"): key decodes to 16 bytes, expected 32');
    expect(short.err).not.toContain(Buffer.alloc(16, 1).toString('base64'));
  });
});

describe('the demo in a working directory it cannot write (the image runs as `node` in a root-owned /app)', () => {
  it('runs and answers; the unwritable demo:change record is one warning, not a failed start', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'sb-demo-ro-'));
    // `.tmp` as a file: mkdir fails as it does for a non-root user (the suite may run as root, which permissions do not stop).
    writeFileSync(join(dir, '.tmp'), '');
    const { REDIS_URL: _r, SWITCHBOARD_CONFIG: _c, ...rest } = process.env;
    const child = spawn(process.execPath, ['--import', TSX, MAIN], {
      cwd: dir,
      env: { ...rest, PORT: '0', LOG_LEVEL: 'info', SWITCHBOARD_DEMO_API_KEY: KEY },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      let output = '';
      let err = '';
      child.stderr!.on('data', (b: Buffer) => (err += b.toString()));
      const listening = await new Promise<{ url: string }>((resolve, reject) => {
        child.stdout!.on('data', (b: Buffer) => {
          output += b.toString();
          const line = output.split('\n').find((l) => l.includes('"switchboard is listening"'));
          // Without a terminal there is no banner: a line says where the key is (logged right after).
          if (line && output.includes('demo mode: the demo tenant API key is preset')) resolve(JSON.parse(line) as { url: string });
        });
        child.once('exit', (code) => reject(new Error(`exited ${code}: ${output}${err}`)));
      });
      expect(output).toContain('could not record itself for `npm run demo:change`');
      expect(output).not.toContain(KEY);
      const res = await graphql<{ contacts: { nodes: unknown[] } }>(listening.url, KEY, '{ contacts(first: 1) { nodes { id } } }');
      expect(res.errors).toBeUndefined();
      expect(res.data?.contacts.nodes).toHaveLength(1);
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await once(child, 'exit');
      }
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
