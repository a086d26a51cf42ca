import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { defaultGatewayConfig, type TenantConfig } from '../config.ts';
import { socketDocument } from './document-limits.ts';

const schema = buildSchema('type Query { a: Int, b: Int }');
const tenants = [
  { id: 'roomy', connections: [], apiKeys: [] },
  { id: 'tight', connections: [], apiKeys: [], limits: { maxAliases: 1 } },
] as unknown as TenantConfig[];
const config = defaultGatewayConfig(tenants, { schemaExploration: 'scoped' } as never);

describe('socketDocument', () => {
  it('parses and checks a query text once, then reuses the checked document', () => {
    const first = socketDocument(schema, config, 'roomy', new Set(), '{ x: a y: b }');
    const again = socketDocument(schema, config, 'roomy', new Set(), '{ x: a y: b }');
    expect(first.error).toBeNull();
    expect(again.document).toBe(first.document);
  });

  it('checks the same text again under other limits, and per caller for introspection', () => {
    expect(socketDocument(schema, config, 'roomy', new Set(), '{ p: a q: b }').error).toBeNull();
    expect(socketDocument(schema, config, 'tight', new Set(), '{ p: a q: b }').error?.extensions['code']).toBe('QUERY_TOO_LARGE');
    expect(socketDocument(schema, config, 'roomy', new Set(['schema']), '{ __schema { queryType { name } } }').error).toBeNull();
    expect(socketDocument(schema, config, 'roomy', new Set(), '{ __schema { queryType { name } } }').error?.extensions['code']).toBe('FORBIDDEN');
  });
});
