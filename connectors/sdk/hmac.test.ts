import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { hmacSha256 } from './hmac.ts';

// RFC 4231 §4 test cases for HMAC-SHA-256 (case 5, a truncated output, does not apply).
const RFC4231: Array<{ key: Buffer; data: Buffer; mac: string }> = [
  { key: Buffer.alloc(20, 0x0b), data: Buffer.from('Hi There'), mac: 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7' },
  { key: Buffer.from('Jefe'), data: Buffer.from('what do ya want for nothing?'), mac: '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843' },
  { key: Buffer.alloc(20, 0xaa), data: Buffer.alloc(50, 0xdd), mac: '773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe' },
  {
    key: Buffer.from('0102030405060708090a0b0c0d0e0f10111213141516171819', 'hex'),
    data: Buffer.alloc(50, 0xcd),
    mac: '82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b',
  },
  {
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from('Test Using Larger Than Block-Size Key - Hash Key First'),
    mac: '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54',
  },
  {
    key: Buffer.alloc(131, 0xaa),
    data: Buffer.from(
      'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    ),
    mac: '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  },
];

const reference = (key: string | Buffer, parts: Array<string | Buffer>) => {
  const h = createHmac('sha256', key);
  for (const p of parts) h.update(p);
  return h.digest();
};

describe('hmacSha256', () => {
  it('gives the RFC 4231 test vectors, with Buffer keys and with the same key as a string', () => {
    for (const { key, data, mac } of RFC4231) {
      expect(hmacSha256(key, data).toString('hex')).toBe(mac);
      // A key that is valid UTF-8 also goes through the per-secret cache as a string.
      if (key.toString('utf8') === key.toString('latin1')) expect(hmacSha256(key.toString('utf8'), data).toString('hex')).toBe(mac);
    }
  });

  it('matches createHmac for keys around the block size and parts of every kind, strings as UTF-8', () => {
    const keys: Array<string | Buffer> = [
      '',
      'whsec_' + 'x'.repeat(32),
      'k'.repeat(64),
      'k'.repeat(65),
      'sécret-ü-€',
      randomBytes(63),
      randomBytes(64),
      randomBytes(200),
    ];
    const partSets: Array<Array<string | Buffer>> = [
      [],
      [''],
      [Buffer.alloc(0)],
      ['1700000000.', randomBytes(1_300)],
      ['POST', 'https://example.com/webhooks/hubspot/c1?x=1', Buffer.from('[{"eventId":1}]'), '1700000000000'],
      ['naïve ✓ ', Buffer.from('€'), '𝄞'],
      [randomBytes(5_000)], // larger than Buffer's pool: not a pool slice
    ];
    for (const key of keys) for (const parts of partSets) expect(hmacSha256(key, ...parts).equals(reference(key, parts))).toBe(true);
  });

  it('stays right past its per-secret cache bound (the cache starts over, no result changes)', () => {
    const first = hmacSha256('secret-0', 'body');
    for (let i = 0; i < 2_100; i++) hmacSha256(`secret-${i}`, 'body');
    expect(hmacSha256('secret-0', 'body').equals(first)).toBe(true);
    expect(hmacSha256('secret-2099', 'body').equals(reference('secret-2099', ['body']))).toBe(true);
  });
});
