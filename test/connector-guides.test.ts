// Every registered connector has its operator guide (docs/connectors/<id>.md) and its README, and
// both indexes that list the guides (README.md, docs/connectors.md "Provider guides") link it: a
// provider added to the registry without them, or dropped from an index, fails here.
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONNECTORS } from '../connectors/registry.ts';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const ids = CONNECTORS.map((r) => r.connector.manifest.id);

describe('connector guides', () => {
  it.each(ids)('%s has docs/connectors/<id>.md and connectors/<id>/README.md', (id) => {
    expect(existsSync(new URL(`../docs/connectors/${id}.md`, import.meta.url)), `docs/connectors/${id}.md`).toBe(true);
    expect(existsSync(new URL(`../connectors/${id}/README.md`, import.meta.url)), `connectors/${id}/README.md`).toBe(true);
  });

  it('README.md and docs/connectors.md link every guide', () => {
    const readme = read('README.md');
    const guides = read('docs/connectors.md').split('## Provider guides')[1] ?? '';
    for (const id of ids) {
      expect(readme, `README.md links docs/connectors/${id}.md`).toContain(`(docs/connectors/${id}.md)`);
      expect(guides, `docs/connectors.md "Provider guides" links connectors/${id}.md`).toContain(`(connectors/${id}.md)`);
    }
  });
});
