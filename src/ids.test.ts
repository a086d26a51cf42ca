import { describe, expect, it } from 'vitest';
import { decodeId, encodeId } from './ids.ts';

describe('global ids', () => {
  it('round-trips type, connection and remote id (remote ids may contain colons)', () => {
    const id = encodeId('Invoice', 'acme-stripe', 'in_1:weird:id');
    expect(id).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeId(id)).toEqual({ type: 'Invoice', connectionId: 'acme-stripe', remoteId: 'in_1:weird:id' });
  });
  it.each([
    '',
    '!!',
    Buffer.from('Nope:c:1').toString('base64url'),
    Buffer.from('Contact::1').toString('base64url'),
    Buffer.from('Contact:c:').toString('base64url'),
  ])('rejects %j', (text) => {
    expect(decodeId(text)).toBeNull();
  });
});
