// `npm run coverage:docs`: writes docs/coverage.md from the connectors' coverage declarations.
// test/coverage-docs.test.ts fails when the committed file differs from what this writes.
import { writeFileSync } from 'node:fs';
import { CONNECTORS } from '../connectors/registry.ts';
import { coverageMarkdown } from '../src/gateway/coverage-sdl.ts';

const target = new URL('../docs/coverage.md', import.meta.url);
writeFileSync(target, coverageMarkdown(CONNECTORS.map((r) => r.connector)));
console.log(`wrote ${target.pathname}`);
