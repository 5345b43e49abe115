import { describe, expect, test } from 'vitest';
import { parseAuthorization } from '../../src/core/authorization-header.js';

const token = 'a'.repeat(50);

describe('parseAuthorization (DRF TokenAuthentication rules)', () => {
  test.each([
    ['absent', undefined],
    ['empty', ''],
    ['only spaces', '   '],
    ['a foreign scheme', 'Basic dXNlcjpwYXNz'],
    ['Bearer when JWT is off', `Bearer ${token}`],
  ])('is anonymous for %s', (_name, header) => {
    expect(parseAuthorization(header, 'Token', null)).toEqual({ scheme: 'none' });
  });

  test.each(['Token', 'token', 'TOKEN', 'ToKeN'])('reads the keyword case-insensitively: %s', (keyword) => {
    expect(parseAuthorization(`${keyword} ${token}`, 'Token', null)).toEqual({ scheme: 'token', credentials: token });
  });

  test('tolerates runs of whitespace like bytes.split()', () => {
    expect(parseAuthorization(`  Token \t ${token}  `, 'Token', null)).toEqual({ scheme: 'token', credentials: token });
  });

  test('refuses a keyword without credentials', () => {
    const parsed = parseAuthorization('Token', 'Token', null);
    expect(parsed.scheme === 'invalid' && parsed.error.message).toBe('Invalid token header. No credentials provided.');
  });

  test('refuses credentials with spaces', () => {
    const parsed = parseAuthorization('Token a b', 'Token', null);
    expect(parsed.scheme === 'invalid' && parsed.error.message).toBe('Invalid token header. Token string should not contain spaces.');
  });

  test('refuses bytes that are not UTF-8 (Node gives headers as latin1)', () => {
    const parsed = parseAuthorization('Token abc\u00ff\u00fe', 'Token', null);
    expect(parsed.scheme === 'invalid' && parsed.error.message).toBe(
      'Invalid token header. Token string should not contain invalid characters.',
    );
  });

  test('decodes valid UTF-8 bytes into text (then the token check refuses it)', () => {
    // "é" as UTF-8 bytes c3 a9, seen by Node as two latin1 characters
    expect(parseAuthorization('Token caf\u00c3\u00a9', 'Token', null)).toEqual({ scheme: 'token', credentials: 'café' });
  });

  test('reads Bearer case-sensitively and demands exactly two words', () => {
    expect(parseAuthorization('Bearer x.y.z', 'Token', 'Bearer')).toEqual({ scheme: 'bearer', credentials: 'x.y.z' });
    expect(parseAuthorization('bearer x.y.z', 'Token', 'Bearer')).toEqual({ scheme: 'none' });
    const parsed = parseAuthorization('Bearer a b', 'Token', 'Bearer');
    expect(parsed.scheme === 'invalid' && parsed.error.code).toBe('ERR_BAD_AUTHORIZATION_HEADER');
    expect(parseAuthorization('Bearer', 'Token', 'Bearer').scheme).toBe('invalid');
  });
});
