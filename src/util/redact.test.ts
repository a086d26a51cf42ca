// Pattern redaction: secret field names at any depth and secret-looking values in any field.
import { describe, expect, it } from 'vitest';
import { REDACTED, redactDeep } from './redact.ts';

describe('redactDeep', () => {
  it('replaces secret fields at any depth and credential-shaped values anywhere; leaves the rest', () => {
    const input = {
      provider: 'hubspot',
      nested: { deeper: [{ refresh_token: 'r1', accessToken: 'a1', clientSecret: 'c1', note: 'Bearer abc.def' }] },
      headers: { Authorization: 'x', cookie: 'y', 'x-request-id': 'keep' },
      stripe: 'sk_live_123456',
      key: 'sbk_0123456789abcdef_' + 'A'.repeat(43),
      count: 3,
    };
    const out = redactDeep(input);
    expect(out).toEqual({
      provider: 'hubspot',
      nested: { deeper: [{ refresh_token: REDACTED, accessToken: REDACTED, clientSecret: REDACTED, note: REDACTED }] },
      headers: { Authorization: REDACTED, cookie: REDACTED, 'x-request-id': 'keep' },
      stripe: REDACTED,
      key: REDACTED,
      count: 3,
    });
    expect(input.nested.deeper[0]!.refresh_token).toBe('r1');
  });

  it('cuts cycles', () => {
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    expect(redactDeep(a)).toEqual({ name: 'a', self: '[…]' });
  });
});
