import { describe, expect, test } from 'vitest';
import { clearedSessionCookie, readCookie, sessionCookie, validateCookieName } from '../../src/admin/cookies.js';
import { exactTime, relativeTime } from '../../src/admin/relative-time.js';
import { isSameOriginRequest, requestOrigin, requestScheme } from '../../src/admin/same-origin.js';
import { compileTrustProxy } from '../../src/lib/ip.js';

const OWN = 'http://127.0.0.1:3000';

describe('isSameOriginRequest (the CSRF check)', () => {
  test.each([
    ['Sec-Fetch-Site same-origin', { secFetchSite: 'same-origin', origin: undefined }, true],
    ['Sec-Fetch-Site none (typed by the user)', { secFetchSite: 'none', origin: undefined }, true],
    ['Sec-Fetch-Site same-site (a sibling port or subdomain)', { secFetchSite: 'same-site', origin: OWN }, false],
    ['Sec-Fetch-Site cross-site, whatever Origin says', { secFetchSite: 'cross-site', origin: OWN }, false],
    ['no Sec-Fetch-Site, Origin equal', { secFetchSite: undefined, origin: OWN }, true],
    ['no Sec-Fetch-Site, Origin equal but upper-case', { secFetchSite: undefined, origin: 'HTTP://127.0.0.1:3000' }, true],
    ['no Sec-Fetch-Site, Origin of another port', { secFetchSite: undefined, origin: 'http://127.0.0.1:3001' }, false],
    ['no Sec-Fetch-Site, Origin of another scheme', { secFetchSite: undefined, origin: 'https://127.0.0.1:3000' }, false],
    ['no Sec-Fetch-Site, Origin null', { secFetchSite: undefined, origin: 'null' }, false],
    ['neither header', { secFetchSite: undefined, origin: undefined }, false],
  ])('%s → %s', (_name, facts, expected) => {
    expect(isSameOriginRequest(facts, OWN)).toBe(expected);
  });

  test('an Origin cannot match when the request has no usable Host', () => {
    expect(isSameOriginRequest({ secFetchSite: undefined, origin: 'http://undefined' }, undefined)).toBe(false);
  });
});

describe('requestOrigin and requestScheme', () => {
  const untrusted = compileTrustProxy(false);
  const trusted = compileTrustProxy(['127.0.0.1']);
  const source = { host: '127.0.0.1:3000', encrypted: false, forwardedProto: 'https', remoteAddress: '127.0.0.1' };

  test('X-Forwarded-Proto is believed only from a trusted proxy', () => {
    expect(requestScheme(source, untrusted)).toBe('http');
    expect(requestScheme(source, trusted)).toBe('https');
    expect(requestScheme({ ...source, remoteAddress: '10.0.0.9' }, trusted)).toBe('http');
    expect(requestScheme({ ...source, forwardedProto: 'https, http' }, trusted)).toBe('https');
  });

  test('a TLS socket is https', () => {
    expect(requestScheme({ ...source, encrypted: true, forwardedProto: undefined }, untrusted)).toBe('https');
  });

  test('the origin is scheme and Host, lowercase; a malformed or missing Host gives none', () => {
    expect(requestOrigin({ ...source, host: 'Example.COM:8443' }, untrusted)).toBe('http://example.com:8443');
    expect(requestOrigin({ ...source, host: '[::1]:3000' }, untrusted)).toBe('http://[::1]:3000');
    expect(requestOrigin({ ...source, host: undefined }, untrusted)).toBeUndefined();
    expect(requestOrigin({ ...source, host: 'evil.example/x' }, untrusted)).toBeUndefined();
  });
});

describe('session cookie', () => {
  test('sets HttpOnly, SameSite=Lax, Path=/ and Max-Age; Secure only when asked', () => {
    expect(sessionCookie('nilva_session', 'abc123', { maxAgeSeconds: 3600.9, secure: false })).toBe(
      'nilva_session=abc123; Path=/; Max-Age=3600; HttpOnly; SameSite=Lax',
    );
    expect(sessionCookie('nilva_session', 'abc123', { secure: true })).toBe('nilva_session=abc123; Path=/; HttpOnly; SameSite=Lax; Secure');
  });

  test('clearing it sends an empty value with Max-Age=0', () => {
    expect(clearedSessionCookie('nilva_session', false)).toBe('nilva_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax');
  });

  test('reads the first cookie of that name, only when it looks like a token', () => {
    expect(readCookie('a=1; nilva_session=tok3n; nilva_session=other', 'nilva_session')).toBe('tok3n');
    expect(readCookie('nilva_session_x=tok3n', 'nilva_session')).toBeUndefined();
    expect(readCookie('nilva_session="tok3n"', 'nilva_session')).toBeUndefined();
    expect(readCookie('nilva_session=a%20b', 'nilva_session')).toBeUndefined();
    expect(readCookie(undefined, 'nilva_session')).toBeUndefined();
  });

  test('refuses a cookie name that could break the header', () => {
    expect(() => validateCookieName('a;b')).toThrow(/option "cookieName"/);
    expect(() => validateCookieName('')).toThrow(TypeError);
    expect(() => sessionCookie('nilva_session', 'a;b', { secure: false })).toThrow(TypeError);
  });
});

describe('relativeTime', () => {
  const now = new Date('2026-11-27T12:00:00.000Z');
  const ago = (ms: number) => relativeTime(new Date(now.getTime() - ms), now);
  test.each([
    [0, 'just now'],
    [9_999, 'just now'],
    [10_000, '10 seconds ago'],
    [60_000, '1 minute ago'],
    [180_000, '3 minutes ago'],
    [3_600_000, '1 hour ago'],
    [2 * 86_400_000, '2 days ago'],
    [45 * 86_400_000, '1 month ago'],
    [800 * 86_400_000, '2 years ago'],
    [-3 * 3_600_000, 'in 3 hours'],
  ])('%d ms before now → %s', (ms, text) => {
    expect(ago(ms)).toBe(text);
  });

  test('the exact time is UTC to the second', () => {
    expect(exactTime(new Date('2026-11-27T11:12:12.750Z'))).toBe('2026-11-27 11:12:12 UTC');
  });
});
