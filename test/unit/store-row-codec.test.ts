import { describe, expect, test } from 'vitest';
import { decodeBool, decodeEndReason, decodeTime, normalizeUuid, RowCodec } from '../../src/store/row-codec.js';

describe('normalizeUuid', () => {
  test('lowercases a hyphenated UUID', () => {
    expect(normalizeUuid('0F8FAD5B-D9CB-469F-A165-70867728950E')).toBe('0f8fad5b-d9cb-469f-a165-70867728950e');
  });

  test.each([
    '',
    'not-a-uuid',
    '0f8fad5bd9cb469fa16570867728950e',
    '{0f8fad5b-d9cb-469f-a165-70867728950e}',
    '0f8fad5b-d9cb-469f-a165-70867728950e ',
    '0f8fad5b-d9cb-469f-a165-70867728950g',
  ])('treats %j as no UUID', (id) => {
    expect(normalizeUuid(id)).toBeUndefined();
  });

  test('treats non-strings as no UUID', () => {
    expect(normalizeUuid(42)).toBeUndefined();
    expect(normalizeUuid(null)).toBeUndefined();
  });
});

describe('decodeTime', () => {
  const expected = Date.UTC(2026, 10, 27, 11, 12, 12, 750);

  test.each([
    ['SQLite ISO text', '2026-11-27T11:12:12.750Z'],
    ['mysql2 dateStrings (UTC)', '2026-11-27 11:12:12.750'],
    ['microseconds, truncated to milliseconds', '2026-11-27 11:12:12.750661'],
    ['pg text with a short offset', '2026-11-27 11:12:12.75+00'],
    ['an offset east of UTC', '2026-11-27T13:12:12.750+02:00'],
    ['an offset west of UTC, without colon', '2026-11-27T06:42:12.750-0430'],
  ])('reads %s', (_name, text) => {
    expect(decodeTime(text).getTime()).toBe(expected);
  });

  test('reads a time without fraction', () => {
    expect(decodeTime('2026-11-27 11:12:12').getTime()).toBe(Date.UTC(2026, 10, 27, 11, 12, 12));
  });

  test('returns Dates as they are', () => {
    const date = new Date(expected);
    expect(decodeTime(date)).toBe(date);
  });

  test('refuses text that is no timestamp', () => {
    expect(() => decodeTime('yesterday')).toThrow(RangeError);
  });
});

describe('decodeBool', () => {
  test.each([
    [true, true],
    [false, false],
    [1, true],
    [0, false],
    [1n, true],
    [0n, false],
    ['1', true],
    ['0', false],
  ] as const)('reads %s as %s', (value, expected) => {
    expect(decodeBool(value)).toBe(expected);
  });
});

describe('RowCodec', () => {
  test('SQLite gets ISO text for times and 1/0 for booleans', () => {
    const codec = new RowCodec('sqlite', 'string');
    expect(codec.time(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)))).toBe('2026-01-02T03:04:05.006Z');
    expect(codec.bool(true)).toBe(1);
    expect(codec.bool(false)).toBe(0);
  });

  test('PostgreSQL and MySQL get Dates and booleans', () => {
    for (const dialect of ['postgres', 'mysql'] as const) {
      const codec = new RowCodec(dialect, 'string');
      const date = new Date(0);
      expect(codec.time(date)).toBe(date);
      expect(codec.bool(true)).toBe(true);
    }
  });

  test('string user ids: numbers are compared as their decimal text', () => {
    const codec = new RowCodec('postgres', 'string');
    expect(codec.userId(42)).toBe('42');
    expect(codec.userId('007')).toBe('007');
  });

  test('integer user ids: integer strings become numbers, anything else matches no row', () => {
    const codec = new RowCodec('postgres', 'integer');
    expect(codec.userId(42)).toBe(42);
    expect(codec.userId('42')).toBe(42);
    expect(codec.userId('-7')).toBe(-7);
    expect(codec.userId('4.2')).toBeUndefined();
    expect(codec.userId('alice')).toBeUndefined();
    expect(codec.userId(1.5)).toBeUndefined();
    expect(codec.userId(2 ** 53)).toBeUndefined();
    expect(codec.userId('99999999999999999')).toBeUndefined();
  });

  test('decodes a MySQL row: 0/1 booleans, bigint user ids, uppercase ids', () => {
    const codec = new RowCodec('mysql', 'integer');
    const at = new Date(Date.UTC(2026, 10, 27));
    const record = codec.record({
      id: '0F8FAD5B-D9CB-469F-A165-70867728950E',
      user_id: 42n,
      key_hash: 'h'.repeat(64),
      key_prefix: 'abcdefgh',
      expire_at: null,
      is_active: 0,
      last_online: at,
      last_ip: '',
      user_agent: '',
      detail: 'Logged out.',
      end_reason: 'logout',
      created_at: at,
      authenticated_at: null,
      refresh_jti: '0123456789abcdef0123456789abcdef',
    });
    expect(record).toEqual({
      id: '0f8fad5b-d9cb-469f-a165-70867728950e',
      userId: 42,
      keyHash: 'h'.repeat(64),
      keyPrefix: 'abcdefgh',
      expireAt: null,
      isActive: false,
      lastOnline: at,
      lastIp: '',
      userAgent: '',
      detail: 'Logged out.',
      endReason: 'logout',
      createdAt: at,
      // A row migrated from before authenticated_at existed: its login was the last authentication.
      authenticatedAt: at,
      refreshJti: '0123456789abcdef0123456789abcdef',
    });
  });

  test('an end reason this version does not know reads as null', () => {
    expect(decodeEndReason('logout')).toBe('logout');
    expect(decodeEndReason('written_by_a_newer_version')).toBeNull();
    expect(decodeEndReason(null)).toBeNull();
  });

  test('decodes PostgreSQL bigint user ids (strings) as numbers, and refuses unsafe ones', () => {
    const codec = new RowCodec('postgres', 'integer');
    const row = { id: '0f8fad5b-d9cb-469f-a165-70867728950e', key_hash: 'h', user_id: '9007199254740991' };
    expect(codec.ref(row).userId).toBe(Number.MAX_SAFE_INTEGER);
    expect(() => codec.ref({ ...row, user_id: '9007199254740993' })).toThrow(RangeError);
  });

  test('string user ids come back as strings whatever the driver returned', () => {
    const codec = new RowCodec('sqlite', 'string');
    expect(codec.ref({ id: '0f8fad5b-d9cb-469f-a165-70867728950e', key_hash: 'h', user_id: 42 }).userId).toBe('42');
  });
});

describe('RowCodec ids in Django’s 32-hex form (a MySQL table converted for coexistence)', () => {
  const hex = new RowCodec('mysql', 'integer', 'hex');
  const uuid = new RowCodec('mysql', 'integer');

  test('parameters drop the hyphens; reads get them back, lowercase', () => {
    expect(hex.id('46FCD802-F9C7-4094-B452-4517B84B2606')).toBe('46fcd802f9c74094b4524517b84b2606');
    expect(hex.decodeId('46fcd802f9c74094b4524517b84b2606')).toBe('46fcd802-f9c7-4094-b452-4517b84b2606');
    expect(uuid.id('46FCD802-F9C7-4094-B452-4517B84B2606')).toBe('46fcd802-f9c7-4094-b452-4517b84b2606');
  });

  test('malformed ids name no row, in either form; duplicates count once', () => {
    expect(hex.id('46fcd802f9c74094b4524517b84b2606')).toBeUndefined();
    expect(hex.id('not-a-uuid')).toBeUndefined();
    expect(hex.ids(['46fcd802-f9c7-4094-b452-4517b84b2606', '46FCD802-F9C7-4094-B452-4517B84B2606', 'x'])).toEqual([
      '46fcd802f9c74094b4524517b84b2606',
    ]);
  });
});
