// The committed generated types must be exactly what codegen produces from schema/ now.
import { readFileSync } from 'node:fs';
import { generate } from '@graphql-codegen/cli';
import { describe, expect, it } from 'vitest';
import config from '../codegen.ts';

describe('codegen', () => {
  it('src/generated/graphql.ts is up to date with schema/*.graphql (run `npm run codegen`)', async () => {
    const outputs = (await generate({ ...config, silent: true }, false)) as Array<{ filename: string; content: string }>;
    expect(outputs).toHaveLength(1);
    const [out] = outputs;
    expect(readFileSync(out!.filename, 'utf8')).toBe(out!.content);
  }, 60_000);
});
