import { describe, expect, test } from 'vitest';
import { clientIp, compileTrustProxy, normalizeIp } from '../../src/lib/ip.js';
import { pythonUtcString } from '../../src/lib/time.js';

describe('pythonUtcString', () => {
  test('formats like str() of an aware UTC datetime', () => {
    expect(pythonUtcString(new Date('2026-11-27T11:12:12.750Z'))).toBe('2026-11-27 11:12:12.750000+00:00');
    expect(pythonUtcString(new Date('2026-11-27T11:12:12.000Z'))).toBe('2026-11-27 11:12:12+00:00');
  });
});

describe('client IP', () => {
  test('stores IPv4-mapped IPv6 as IPv4 and drops garbage', () => {
    expect(normalizeIp('::ffff:1.2.3.4')).toBe('1.2.3.4');
    expect(normalizeIp('2001:DB8::1')).toBe('2001:db8::1');
    expect(normalizeIp('not-an-ip')).toBe('');
    expect(normalizeIp(undefined)).toBe('');
  });

  test('ignores X-Forwarded-For unless a proxy is trusted', () => {
    expect(clientIp('10.0.0.1', '1.2.3.4', compileTrustProxy(false))).toBe('10.0.0.1');
    expect(clientIp('10.0.0.1', '1.2.3.4', compileTrustProxy(['10.0.0.0/8']))).toBe('1.2.3.4');
    expect(clientIp('10.0.0.1', '1.2.3.4, 10.0.0.2', compileTrustProxy(['10.0.0.0/8']))).toBe('1.2.3.4');
    expect(clientIp('10.0.0.1', '1.2.3.4, 5.6.7.8', compileTrustProxy(1))).toBe('5.6.7.8');
    expect(clientIp('127.0.0.1', 'garbage, ###', compileTrustProxy(true))).toBe('127.0.0.1');
    expect(clientIp('::ffff:127.0.0.1', '::ffff:9.9.9.9', compileTrustProxy(['127.0.0.1']))).toBe('9.9.9.9');
  });

  test('refuses a trustProxy entry that is not an address', () => {
    expect(() => compileTrustProxy(['nope'])).toThrow(/trustProxy/);
    expect(() => compileTrustProxy(['10.0.0.0/40'])).toThrow(/trustProxy/);
  });
});
