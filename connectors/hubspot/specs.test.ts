// The spec files we ship are extracts of our own making: HubSpot's schemas without HubSpot's prose,
// each naming its source. Checks the committed extracts (the shared checks in
// connectors/sdk/spec-extracts.ts) and the extractor (scripts/extract-openapi.ts).
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { extractFile, extractSchema, type SpecSource } from '../../scripts/extract-openapi.ts';
import { describeSpecExtracts, proseIn } from '../sdk/spec-extracts.ts';
import { SPEC_FILES } from './test-support.ts';

describeSpecExtracts({
  provider: 'HubSpot',
  dir: join(import.meta.dirname, 'specs'),
  expectedFiles: Object.values(SPEC_FILES),
  minPaths: 5,
  officialDir: join(import.meta.dirname, '../../../shared/providers/specs/hubspot'),
});

describe('extract-openapi', () => {
  const source: SpecSource = { repository: 'https://example.com/specs', path: 'a/b.json', snapshot: '2026-01-02' };
  // A small spec in the official files' shape, with prose in every place it can hide.
  const official = {
    openapi: '3.0.1',
    info: { title: 'Things', description: 'Long introduction.', version: 'v3', 'x-hubspot-introduction': 'More prose.' },
    servers: [{ url: 'https://api.example.com', description: 'Production' }],
    tags: [{ name: 'Basic' }],
    paths: {
      '/things': {
        get: {
          tags: ['Basic'],
          summary: 'List things',
          description: 'Lists the things.',
          operationId: 'get-things',
          parameters: [
            {
              name: 'limit',
              in: 'query',
              description: 'Page size.',
              required: false,
              style: 'form',
              explode: true,
              schema: { type: 'integer', format: 'int32', example: 10, default: 10 },
            },
          ],
          responses: {
            '200': { description: 'successful operation', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' }, example: null } } },
            default: { description: '', $ref: '#/components/responses/Error' },
          },
          security: [{ oauth2: ['things.read'] }],
          'x-hubspot-rate-limit-exemptions': ['ten-secondly'],
        },
      },
    },
    components: {
      schemas: {
        Thing: {
          title: 'Thing',
          required: ['id', 'description'],
          type: 'object',
          description: 'A thing.',
          properties: {
            id: { type: 'string', example: '512' },
            description: { type: 'string', description: "The thing's own description field (a name, kept)." },
            kind: { type: 'string', enum: ['a', 'b'], externalDocs: { url: 'https://example.com' } },
          },
          example: { id: '512' },
        },
      },
      responses: { Error: { description: 'An error occurred.', content: { '*/*': { schema: { type: 'object' } } } } },
      securitySchemes: {
        oauth2: {
          type: 'oauth2',
          flows: { authorizationCode: { authorizationUrl: 'https://x/authorize', tokenUrl: 'https://x/token', scopes: { 'things.read': 'Read things' } } },
        },
      },
    },
  };

  it('keeps paths, parameters, schemas and security, and removes every piece of prose', () => {
    const text = extractFile(JSON.stringify(official), source);
    const out = JSON.parse(text) as typeof official & { info: { 'x-extract': { source: Record<string, string> } } };
    expect(proseIn(out)).toEqual([]);
    expect(text).not.toMatch(/introduction|Lists the things|Page size|A thing\.|successful operation|Read things|Production|An error occurred/);
    expect(out.info).toMatchObject({ title: 'Things', version: 'v3', 'x-extract': { source: { ...source, sha256: expect.any(String) } } });
    const get = out.paths['/things'].get;
    expect(get.parameters).toEqual([
      { name: 'limit', in: 'query', required: false, style: 'form', explode: true, schema: { type: 'integer', format: 'int32', default: 10 } },
    ]);
    expect(get.responses).toEqual({
      '200': { description: '', content: { 'application/json': { schema: { $ref: '#/components/schemas/Thing' } } } },
      default: { $ref: '#/components/responses/Error' },
    });
    expect(get['x-hubspot-rate-limit-exemptions']).toEqual(['ten-secondly']);
    expect(out.components.schemas.Thing).toEqual({
      required: ['id', 'description'],
      type: 'object',
      properties: { id: { type: 'string' }, description: { type: 'string' }, kind: { type: 'string', enum: ['a', 'b'] } },
    });
    expect(out.components.securitySchemes.oauth2.flows.authorizationCode.scopes).toEqual({ 'things.read': '' });
  });

  it('is deterministic: the same input gives byte-identical output', () => {
    expect(extractFile(JSON.stringify(official), source)).toBe(extractFile(JSON.stringify(official), source));
  });

  it('stops at a key it does not know, naming where it is', () => {
    const unknown = structuredClone(official) as { paths: { '/things': { get: Record<string, unknown> } } };
    unknown.paths['/things'].get.callbacks = {};
    expect(() => extractSchema(unknown as never)).toThrow('#/paths/~1things/get: unexpected key "callbacks" in an OpenAPI operation');
  });
});
