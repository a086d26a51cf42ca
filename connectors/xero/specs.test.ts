// The spec files we ship are extracts of our own making: the operations the connector uses from
// Xero's official OpenAPI files (YAML), the components they reach, and no prose; each names its
// source and the input's digest. Checks the committed extracts and the selective mode of
// scripts/extract-openapi.ts.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFile, extractSchema, selectOperations, type SpecSource } from '../../scripts/extract-openapi.ts';
import { SPEC_FILES } from './test-support.ts';

const SPECS = join(import.meta.dirname, 'specs');
const sources = JSON.parse(readFileSync(join(SPECS, 'sources.json'), 'utf8')) as Record<string, SpecSource>;
const committed = (file: string) => JSON.parse(readFileSync(join(SPECS, file), 'utf8')) as Record<string, unknown> & { info: Record<string, unknown> };
const PROSE_KEYS = new Set(['description', 'summary', 'example', 'examples', 'externalDocs', 'tags']);

function proseIn(node: unknown, at = '#', underPropertyNames = false): string[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => proseIn(v, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const here = `${at}/${key}`;
    const found = !underPropertyNames && PROSE_KEYS.has(key) && value !== '' ? [here] : [];
    return [...found, ...proseIn(value, here, !underPropertyNames && key === 'properties')];
  });
}

describe('committed Xero spec extracts', () => {
  const files = readdirSync(SPECS)
    .filter((f) => f.endsWith('.json') && f !== 'sources.json')
    .sort();

  it('are exactly the files the tests read, each with a source in sources.json', () => {
    expect(files).toEqual(Object.values(SPEC_FILES).sort());
    expect(Object.keys(sources).sort()).toEqual(files);
  });

  it.each(files)('%s carries no prose, names its source and holds only the kept operations', (file) => {
    const spec = committed(file);
    expect(proseIn(spec)).toEqual([]);
    const { 'x-extract': header, ...info } = spec.info;
    const { input: _input, paths, webhooks, ...source } = sources[file]!;
    expect(header).toMatchObject({ source: { ...source, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, generator: 'scripts/extract-openapi.ts' });
    expect(Object.keys((spec.paths ?? {}) as object).sort()).toEqual([...(paths ?? [])].sort());
    if (webhooks) expect(Object.keys(spec.webhooks as object).sort()).toEqual([...webhooks].sort());
    // The extractor finds nothing left to remove: what is committed is its output.
    expect(extractSchema(JSON.parse(JSON.stringify({ ...spec, info })))).toEqual({ ...spec, info });
  });

  // The official files are beside the project (../shared/providers/specs/xero); where they are, the
  // committed extract must be exactly what the script makes of them.
  const official = join(import.meta.dirname, '../../../shared/providers/specs/xero');
  it.runIf(existsSync(official)).each(files)('%s is what the script makes of the official file today', (file) => {
    const source = sources[file]!;
    expect(extractFile(readFileSync(join(official, source.input!), 'utf8'), source)).toBe(readFileSync(join(SPECS, file), 'utf8'));
  });
});

describe('extract-openapi selective mode', () => {
  const doc = {
    openapi: '3.0.0',
    info: { title: 'T', version: '1' },
    paths: {
      '/A': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/A' } } } } } } },
      '/B': { get: { responses: { '200': { description: 'ok', content: { 'application/json': { schema: { $ref: '#/components/schemas/B' } } } } } } },
    },
    components: {
      schemas: { A: { properties: { child: { $ref: '#/components/schemas/C' } } }, B: { type: 'object' }, C: { type: 'string' } },
      securitySchemes: { OAuth2: { type: 'oauth2', flows: {} } },
    },
  };

  it('keeps the listed paths and the components they reach, transitively', () => {
    const selected = selectOperations(doc, { paths: ['/A'] }) as typeof doc;
    expect(Object.keys(selected.paths)).toEqual(['/A']);
    expect(Object.keys(selected.components.schemas).sort()).toEqual(['A', 'C']);
    expect(selected.components.securitySchemes).toBeDefined();
  });

  it('stops on a listed path the input lacks', () => {
    expect(() => selectOperations(doc, { paths: ['/Nope'] })).toThrowError(/no "\/Nope" in the input/);
  });

  it('reads YAML input', () => {
    const yaml =
      "openapi: 3.0.0\ninfo: { title: T, version: '1', description: prose }\npaths:\n  /A:\n    get:\n      summary: prose\n      responses: { '200': { description: ok } }\n";
    const out = JSON.parse(extractFile(yaml, { repository: 'r', path: 'p.yaml', snapshot: '2026-01-01', input: 'p.yaml', paths: ['/A'] })) as {
      info: Record<string, unknown>;
      paths: Record<string, unknown>;
    };
    expect(out.paths).toEqual({ '/A': { get: { responses: { '200': { description: '' } } } } });
    expect(out.info.description).toBeUndefined();
  });
});
