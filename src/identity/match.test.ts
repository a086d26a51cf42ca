// The identity rules on their own: what joins, what is flagged and held back, what manual
// decisions override.
import { describe, expect, it } from 'vitest';
import { decidePerson, isRoleAddress, normalizeEmail, type Candidate } from './match.ts';

interface C {
  emails: Array<{ address: string; type: 'WORK'; primary: boolean }>;
  phones: Array<{ number: string; e164: string | null; type: 'MOBILE' }>;
  name: string | null;
  firstName: string | null;
  lastName: string | null;
}

const contact = (connectionId: string, remoteId: string, email: string, name: string | null, e164: string | null = null): Candidate<C> => ({
  ref: { connectionId, remoteId },
  contact: {
    emails: [{ address: email, type: 'WORK', primary: true }],
    phones: e164 ? [{ number: e164, e164, type: 'MOBILE' }] : [],
    name,
    firstName: null,
    lastName: null,
  },
});

describe('identity rules', () => {
  it('normalizes by trimming and case-folding only (no mailbox-specific rewriting)', () => {
    expect(normalizeEmail('  Ada.Lovelace+news@Example.COM ')).toBe('ada.lovelace+news@example.com');
    const p = decidePerson(
      'ada.lovelace@gmail.com',
      [contact('s', '1', 'adalovelace@gmail.com', 'Ada'), contact('h', '2', 'ADA.LOVELACE@gmail.com', 'Ada')],
      [],
      [],
      new Set(),
    );
    expect(p.matches.map((m) => m.ref.remoteId)).toEqual(['2']);
  });

  it('joins exact e-mail matches; a shared E.164 number is recorded as a second match', () => {
    const p = decidePerson(
      'ada@x.example',
      [
        contact('h', '1', 'ada@x.example', 'Ada Lovelace', '+14155550100'),
        contact('s', '2', 'Ada@X.example', 'Lovelace, Ada', '+14155550100'),
        contact('w', '3', 'ada@x.example', null),
      ],
      [],
      [],
      new Set(),
    );
    expect(p.flags).toEqual([]);
    expect(p.matches.map((m) => [m.ref.remoteId, m.on])).toEqual([
      ['1', ['EMAIL', 'PHONE']],
      ['2', ['EMAIL', 'PHONE']],
      ['3', ['EMAIL']],
    ]);
    expect(p.names).toEqual(['Ada Lovelace', 'Lovelace, Ada']);
  });

  it('flags role addresses and several names, and holds the contacts back instead of merging them', () => {
    expect(isRoleAddress('Billing@acme.example')).toBe(true);
    expect(isRoleAddress('info+eu@acme.example')).toBe(true);
    expect(isRoleAddress('ada@acme.example')).toBe(false);
    const role = decidePerson(
      'billing@acme.example',
      [contact('h', '1', 'billing@acme.example', 'Acme'), contact('s', '2', 'billing@acme.example', 'Acme')],
      [],
      [],
      new Set(),
    );
    expect(role.flags).toEqual(['ROLE_ADDRESS']);
    expect(role.matches).toEqual([]);
    expect(role.unmerged.map((u) => u.reason)).toEqual(['ROLE_ADDRESS', 'ROLE_ADDRESS']);
    // One contact alone merges nothing: it is the person, flagged.
    const alone = decidePerson('billing@acme.example', [contact('h', '1', 'billing@acme.example', 'Acme')], [], [], new Set());
    expect(alone.matches).toHaveLength(1);
    expect(alone.flags).toEqual(['ROLE_ADDRESS']);
    const names = decidePerson(
      'pat@x.example',
      [contact('h', '1', 'pat@x.example', 'Pat Smith'), contact('s', '2', 'pat@x.example', 'Pat Jones')],
      [],
      [],
      new Set(),
    );
    expect(names.flags).toEqual(['SEVERAL_NAMES']);
    expect(names.unmerged.map((u) => u.reason)).toEqual(['SEVERAL_NAMES', 'SEVERAL_NAMES']);
    // A suffix a provider adds for uniqueness is not another name.
    const suffix = decidePerson(
      'pat@x.example',
      [contact('h', '1', 'pat@x.example', 'Pat Smith'), contact('q', '2', 'pat@x.example', 'Pat Smith #30')],
      [],
      [],
      new Set(),
    );
    expect(suffix.flags).toEqual([]);
    // Different phones are reported, not held back.
    const phones = decidePerson(
      'pat@x.example',
      [contact('h', '1', 'pat@x.example', 'Pat', '+1415'), contact('s', '2', 'pat@x.example', 'Pat', '+4930')],
      [],
      [],
      new Set(),
    );
    expect(phones.flags).toEqual(['PHONE_CONFLICT']);
    expect(phones.matches).toHaveLength(2);
  });

  it('manual decisions override: unlink keeps a matching contact out, link joins any contact, a link elsewhere takes it away', () => {
    const found = [contact('h', '1', 'ada@x.example', 'Ada'), contact('s', '2', 'ada@x.example', 'Ada'), contact('w', '3', 'ada@x.example', 'Ada')];
    const other = contact('q', '9', 'a.king@y.example', 'Ada King');
    const p = decidePerson(
      'ada@x.example',
      found,
      [
        { contact: { connectionId: 's', remoteId: '2' }, kind: 'unlink' },
        { contact: { connectionId: 'q', remoteId: '9' }, kind: 'link' },
      ],
      [other],
      new Set(['w\u00003']),
    );
    expect(p.matches.map((m) => [m.ref.remoteId, m.on])).toEqual([
      ['1', ['EMAIL']],
      ['9', ['MANUAL']],
    ]);
    expect(p.unmerged.map((u) => [u.ref.remoteId, u.reason])).toEqual([
      ['2', 'UNLINKED'],
      ['3', 'LINKED_ELSEWHERE'],
    ]);
    // A manual link of role-address contacts joins them despite the flag.
    const role = decidePerson(
      'billing@acme.example',
      [contact('h', '1', 'billing@acme.example', 'Acme'), contact('s', '2', 'billing@acme.example', 'Acme')],
      [{ contact: { connectionId: 'h', remoteId: '1' }, kind: 'link' }],
      [contact('h', '1', 'billing@acme.example', 'Acme')],
      new Set(),
    );
    expect(role.matches.map((m) => [m.ref.remoteId, m.on])).toEqual([['1', ['EMAIL', 'MANUAL']]]);
    expect(role.unmerged.map((u) => [u.ref.remoteId, u.reason])).toEqual([['2', 'ROLE_ADDRESS']]);
  });
});
