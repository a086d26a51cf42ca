// The connector's requests must be valid against HubSpot's contacts v3 spec (our schema extract of
// the official file, specs/): Prism serves it as a validating mock and answers 422 to any request
// that breaks it.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectorError } from '../sdk/errors.ts';
import { createTestContext } from '../sdk/testing.ts';
import { freePort } from '../../test/redis-server.ts';
import { hubspot } from './index.ts';
import { SPEC_DIR, SPEC_FILES } from './test-support.ts';

const PRISM = join(dirname(fileURLToPath(import.meta.url)), '../../node_modules/.bin/prism');
const TOKEN = 'pat-na1-prism';

/**
 * Prism needs two fixes to serve HubSpot's spec: no `"example": null` (only the official files have
 * examples; see HUBSPOT_SPEC_DIR), and a concrete error media type.
 */
function prepareSpec(dir: string): string {
  const strip = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(strip);
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(node)) if (!(k === 'example' && v === null)) out[k] = strip(v);
      return out;
    }
    return node;
  };
  const spec = strip(JSON.parse(readFileSync(join(SPEC_DIR, SPEC_FILES.contacts), 'utf8'))) as {
    components: { responses: { Error: { content: Record<string, unknown> } } };
  };
  const content = spec.components.responses.Error.content;
  if (content['*/*']) {
    content['application/json'] = content['*/*'];
    delete content['*/*'];
  }
  const file = join(dir, 'contacts.json');
  writeFileSync(file, JSON.stringify(spec));
  return file;
}

async function waitUntilServing(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`prism exited early with code ${child.exitCode}`);
    try {
      await fetch(url, { headers: { authorization: `Bearer ${TOKEN}` }, signal: AbortSignal.timeout(1000) });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`prism did not start serving within ${timeoutMs} ms`);
}

describe('connector requests against Prism serving the contacts v3 spec', () => {
  let dir: string;
  let prism: ChildProcess | undefined;
  let baseUrl: string;
  let output = '';

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'hubspot-prism-'));
    const file = prepareSpec(dir);
    const port = await freePort();
    baseUrl = `http://127.0.0.1:${port}`;
    prism = spawn(PRISM, ['mock', '-h', '127.0.0.1', '-p', String(port), file], { stdio: ['ignore', 'pipe', 'pipe'] });
    prism.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    prism.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    await waitUntilServing(`${baseUrl}/crm/v3/objects/contacts?limit=1`, prism, 45_000);
  }, 60_000);

  afterAll(async () => {
    if (prism && prism.exitCode === null) {
      const exited = new Promise((r) => prism?.once('exit', r));
      prism.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
      if (prism.exitCode === null) prism.kill('SIGKILL');
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const ctx = () => createTestContext({ connector: hubspot, baseUrl, token: TOKEN, upstream: { maxAttempts: 1 } });
  const not422 = (e: unknown) => {
    if (e instanceof ConnectorError && e.upstreamStatus === 422) throw new Error(`Prism rejected the request as invalid: ${e.message}\n${output.slice(-2000)}`);
    throw e;
  };

  it('Prism does validate: an incomplete batch read body is a 422', async () => {
    const res = await fetch(`${baseUrl}/crm/v3/objects/contacts/batch/read`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ inputs: [{ id: '1' }] }),
    });
    expect(res.status).toBe(422);
    expect(res.headers.get('sl-violations')).toContain('propertiesWithHistory');
  });

  it('Contact.byIds sends a valid batch read', async () => {
    const ids = ['101', '102', '103'];
    const result = await hubspot.loaders.Contact!.byIds(ids, ctx()).catch(not422);
    expect(result).toHaveLength(ids.length);
    for (const slot of result) if (slot instanceof ConnectorError) expect(slot.code).toBe('UPSTREAM_NOT_FOUND');
  });

  it('Contact.list sends a valid list request', async () => {
    const page = await hubspot.loaders.Contact!.list({ first: 25, filter: {} }, ctx()).catch(not422);
    expect(Array.isArray(page.nodes)).toBe(true);
  });

  it('Contact.list with filters sends a valid search request', async () => {
    const page = await hubspot.loaders
      .Contact!.list({ first: 25, filter: { updatedSince: '2026-01-01T00:00:00Z', email: 'a@b.example' } }, ctx())
      .catch(not422);
    expect(Array.isArray(page.nodes)).toBe(true);
  });
});
