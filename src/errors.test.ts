// The public code list and docs/errors.md must not drift apart: every code the gateway can emit
// has its row (BAD_REQUEST was emitted for months without one).
import { readFileSync } from 'node:fs';
import { GraphQLError } from 'graphql';
import { describe, expect, it } from 'vitest';
import { ConnectorError } from '../connectors/sdk/errors.ts';
import { GATEWAY_ERROR_CODES, StoreOutage, toPublicError } from './errors.ts';
import { DeadlineExceeded } from './util/bounded.ts';

describe('public errors', () => {
  it('docs/errors.md names every code of GATEWAY_ERROR_CODES', () => {
    const doc = readFileSync(new URL('../docs/errors.md', import.meta.url), 'utf8');
    expect(GATEWAY_ERROR_CODES.filter((code) => !doc.includes(`\`${code}\``))).toEqual([]);
  });

  it('toPublicError: connector errors keep their code and name the provider; store outages are SERVICE_UNAVAILABLE; the rest is internal', () => {
    const upstream = toPublicError(new ConnectorError('UPSTREAM_TIMEOUT', 'slow'), { provider: 'stripe', connectionId: 'c1' });
    expect(upstream.message).toBe('stripe (connection c1): slow');
    expect(upstream.extensions).toMatchObject({ code: 'UPSTREAM_TIMEOUT', provider: 'stripe', connectionId: 'c1', retryable: true });
    expect(toPublicError(new DeadlineExceeded('reading runtime connections took longer than 250 ms')).extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(toPublicError(new StoreOutage('down')).extensions.code).toBe('SERVICE_UNAVAILABLE');
    expect(toPublicError(new TypeError('bug')).extensions.code).toBe('INTERNAL_SERVER_ERROR');
    // Inside a connection's scope, a connector's unexpected failure is that provider being unavailable.
    expect(toPublicError(new TypeError('bug'), { provider: 'stripe', connectionId: 'c1' }).extensions.code).toBe('UPSTREAM_UNAVAILABLE');
    const input = new GraphQLError('bad', { extensions: { code: 'BAD_USER_INPUT' } });
    expect(toPublicError(input)).toBe(input);
  });
});
