// The coverage check the conformance suite runs: a declaration that claims more (ALWAYS on a field
// some record leaves empty) or less (NEVER on a field some record fills) than the mapper does fails.
import { describe, expect, it } from 'vitest';
import { coverage as hubspotCoverage } from '../hubspot/coverage.ts';
import { hubspot } from '../hubspot/index.ts';
import { recordedFixtures } from '../hubspot/test-support.ts';
import { COVERED_FIELDS, coverageProblems, coverageViolations, NEVER, always, type FieldFill } from './coverage.ts';
import type { ContactModel } from './models.ts';

const contacts = recordedFixtures()
  .filter((f) => f.entity === 'Contact')
  .map((f) => f.map(f.raw) as ContactModel);

describe('coverage declarations', () => {
  it("HubSpot's declaration holds on its recorded contacts", () => {
    expect(contacts.length).toBeGreaterThan(0);
    expect(coverageViolations('Contact', hubspotCoverage.Contact as Record<string, FieldFill>, contacts)).toEqual([]);
  });

  it('a wrong declaration fails, naming the field, the claim and a record that contradicts it', () => {
    const wrong: Record<string, FieldFill> = { ...hubspotCoverage.Contact, tags: always('hs_tags'), createdAt: NEVER };
    const violations = coverageViolations('Contact', wrong, contacts);
    expect(violations).toHaveLength(2);
    expect(violations[0]).toMatch(/^Contact\.tags is declared ALWAYS but record \S+ has \[\]$/);
    expect(violations[1]).toMatch(/^Contact\.createdAt is declared NEVER but record \S+ has "/);
  });

  it('every connector declares every covered field of the entities it serves, and nothing else', () => {
    expect(coverageProblems(hubspot.coverage, hubspot.manifest.entities)).toEqual([]);
    const { jobTitle: _dropped, ...missing } = hubspotCoverage.Contact;
    expect(coverageProblems({ Contact: missing as never }, ['Contact'])).toEqual(['coverage.Contact.jobTitle is not declared']);
    expect(coverageProblems({ Contact: { ...hubspotCoverage.Contact, tags: { fill: 'NEVER', providerField: 'x' } } }, ['Contact'])).toEqual([
      'coverage.Contact.tags is NEVER but names a provider field',
    ]);
    expect(Object.keys(hubspotCoverage.Invoice).sort()).toEqual(Object.keys(COVERED_FIELDS.Invoice).sort());
  });
});
