// The store URL policy: Basic keys only over HTTPS (plain HTTP to loopback for tests and the demo),
// and the production SSRF rule for tenant-chosen store URLs.
import { describe, expect, it } from 'vitest';
import { CALL_POLICY, PRODUCTION_POLICY, isInternalAddress, storeUrlProblem } from './store-url.ts';

describe('storeUrlProblem on every call', () => {
  it('allows https anywhere and plain http only to loopback', () => {
    expect(storeUrlProblem('https://shop.example.com', CALL_POLICY)).toBeNull();
    expect(storeUrlProblem('https://shop.example.com/blog', CALL_POLICY)).toBeNull();
    expect(storeUrlProblem('http://127.0.0.1:8080', CALL_POLICY)).toBeNull();
    expect(storeUrlProblem('http://localhost:8080', CALL_POLICY)).toBeNull();
    expect(storeUrlProblem('http://[::1]:8080', CALL_POLICY)).toBeNull();
    expect(storeUrlProblem('http://shop.example.com', CALL_POLICY)).toMatch(/plain http:\/\/.*use https:\/\//);
    expect(storeUrlProblem('ftp://shop.example.com', CALL_POLICY)).toMatch(/https/);
    expect(storeUrlProblem('https://ck_x:cs_y@shop.example.com', CALL_POLICY)).toMatch(/user name or password/);
    expect(storeUrlProblem('https://shop.example.com/?rest_route=/wc/v3', CALL_POLICY)).toMatch(/query/);
    expect(storeUrlProblem('shop.example.com', CALL_POLICY)).toMatch(/absolute URL/);
  });
});

describe('storeUrlProblem in production (SSRF)', () => {
  it.each([
    'https://127.0.0.1',
    'https://localhost',
    'https://10.0.0.5',
    'https://172.20.1.1',
    'https://192.168.1.10',
    'https://169.254.169.254',
    'https://100.64.0.1',
    'https://0.0.0.0',
    'https://[::1]',
    'https://[fd00::1]',
    'https://[fe80::1]',
    'https://[::ffff:10.0.0.1]',
    'https://[::ffff:a9fe:a9fe]',
    'https://metadata.google.internal',
    'https://printer.local',
    'https://intranet',
    'http://127.0.0.1:8080',
  ])('refuses %s', (url) => {
    expect(storeUrlProblem(url, PRODUCTION_POLICY)).not.toBeNull();
  });

  it.each(['https://shop.example.com', 'https://93.184.215.14', 'https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]'])('allows %s', (url) => {
    expect(storeUrlProblem(url, PRODUCTION_POLICY)).toBeNull();
  });

  it('classifies resolved addresses (the check the connect step must repeat after DNS)', () => {
    expect(isInternalAddress('10.1.2.3')).toBe(true);
    expect(isInternalAddress('172.15.255.255')).toBe(false);
    expect(isInternalAddress('172.16.0.0')).toBe(true);
    expect(isInternalAddress('8.8.8.8')).toBe(false);
    expect(isInternalAddress('::ffff:127.0.0.1')).toBe(true);
    expect(isInternalAddress('2001:4860:4860::8888')).toBe(false);
    expect(isInternalAddress('not-an-ip')).toBe(true);
  });
});
