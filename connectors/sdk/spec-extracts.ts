// The checks every connector's committed spec extracts (connectors/<id>/specs/) must pass: we ship
// extracts of our own making, never a provider's file whole. Each extract carries no prose, names its
// source (sources.json) and the input's digest, is exactly what scripts/extract-openapi.ts makes of
// it, holds only the operations its source lists (selective mode), and, where the official files
// are beside the project, is what the script makes of them today.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFile, extractSchema, type SpecSource } from '../../scripts/extract-openapi.ts';

const PROSE_KEYS = new Set(['description', 'summary', 'example', 'examples', 'externalDocs', 'tags']);

/** Prose keys with content anywhere, except names of properties (a schema may define a `description` field). */
export function proseIn(node: unknown, at = '#', underPropertyNames = false): string[] {
  if (Array.isArray(node)) return node.flatMap((v, i) => proseIn(v, `${at}/${i}`));
  if (!node || typeof node !== 'object') return [];
  return Object.entries(node).flatMap(([key, value]) => {
    const here = `${at}/${key}`;
    const found = !underPropertyNames && PROSE_KEYS.has(key) && value !== '' ? [here] : [];
    return [...found, ...proseIn(value, here, !underPropertyNames && key === 'properties')];
  });
}

export interface SpecExtractsCheck {
  /** The provider's name, for the test titles. */
  provider: string;
  /** connectors/<id>/specs: the extracts and sources.json. */
  dir: string;
  /** The extract files the connector's tests read (each must have a source). */
  expectedFiles: readonly string[];
  /** Whole-file extracts (no `paths` in their source) must keep more operations than this. Default 0. */
  minPaths?: number;
  /** Where the official files are, when they may be beside the project; checked only where they exist. */
  officialDir?: string;
}

/** Declares the describe block that checks one connector's committed extracts. */
export function describeSpecExtracts(check: SpecExtractsCheck): void {
  const sources = JSON.parse(readFileSync(join(check.dir, 'sources.json'), 'utf8')) as Record<string, SpecSource>;
  const committed = (file: string) => JSON.parse(readFileSync(join(check.dir, file), 'utf8')) as Record<string, unknown> & { info: Record<string, unknown> };
  const files = readdirSync(check.dir)
    .filter((f) => f.endsWith('.json') && f !== 'sources.json')
    .sort();

  describe(`committed ${check.provider} spec extracts`, () => {
    it('are exactly the files the tests read, each with a source in sources.json', () => {
      expect(files).toEqual([...check.expectedFiles].sort());
      expect(Object.keys(sources).sort()).toEqual(files);
    });

    it.each(files)('%s carries no prose, names its source and holds only the kept operations', (file) => {
      const spec = committed(file);
      expect(proseIn(spec)).toEqual([]);
      const { 'x-extract': header, ...info } = spec.info;
      const { input: _input, paths, webhooks, ...source } = sources[file]!;
      expect(header).toMatchObject({ source: { ...source, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) }, generator: 'scripts/extract-openapi.ts' });
      const kept = Object.keys((spec.paths ?? {}) as object);
      // Selective sources keep exactly the operations they list; whole-file ones keep more than a few.
      if (paths || webhooks) expect(kept.sort()).toEqual([...(paths ?? [])].sort());
      else expect(kept.length).toBeGreaterThan(check.minPaths ?? 0);
      if (webhooks) expect(Object.keys(spec.webhooks as object).sort()).toEqual([...webhooks].sort());
      // The extractor finds nothing left to remove: what is committed is its output.
      expect(extractSchema(JSON.parse(JSON.stringify({ ...spec, info })))).toEqual({ ...spec, info });
    });

    const official = check.officialDir;
    it.runIf(official !== undefined && existsSync(official)).each(files)('%s is what the script makes of the official file today', (file) => {
      const source = sources[file]!;
      expect(extractFile(readFileSync(join(official!, source.input ?? file), 'utf8'), source)).toBe(readFileSync(join(check.dir, file), 'utf8'));
    });
  });
}
