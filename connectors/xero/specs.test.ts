// The spec files we ship are extracts of our own making: the operations the connector uses from
// Xero's official OpenAPI files (YAML), the components they reach, and no prose; each names its
// source and the input's digest. Checks the committed extracts (the shared checks in
// connectors/sdk/spec-extracts.ts) and the selective mode of scripts/extract-openapi.ts.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFile, selectOperations } from '../../scripts/extract-openapi.ts';
import { describeSpecExtracts } from '../sdk/spec-extracts.ts';
import { SPEC_FILES } from './test-support.ts';

describeSpecExtracts({
  provider: 'Xero',
  dir: join(import.meta.dirname, 'specs'),
  expectedFiles: Object.values(SPEC_FILES),
  // The official files are beside the project (../shared/providers/specs/xero).
  officialDir: join(import.meta.dirname, '../../../shared/providers/specs/xero'),
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
