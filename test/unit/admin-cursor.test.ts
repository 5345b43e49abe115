import { describe, expect, test } from 'vitest';
import { decodeAdminCursor, encodeAdminCursor } from '../../src/admin/admin-cursor.js';

const ID = '0f8fad5b-d9cb-469f-a165-70867728950e';
const AT = new Date('2026-11-27T11:12:12.750Z');

describe('admin cursor', () => {
  test('round-trips a position and direction for the same sort and order', () => {
    for (const direction of ['after', 'before'] as const) {
      const text = encodeAdminCursor('last_online', 'asc', { direction, keyset: { value: AT, id: ID } });
      expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
      expect(decodeAdminCursor(text, 'last_online', 'asc')).toEqual({ direction, keyset: { value: AT, id: ID } });
    }
  });

  test('a null value round-trips for expire_at only', () => {
    const text = encodeAdminCursor('expire_at', 'desc', { direction: 'after', keyset: { value: null, id: ID } });
    expect(decodeAdminCursor(text, 'expire_at', 'desc')).toEqual({ direction: 'after', keyset: { value: null, id: ID } });
    const forged = Buffer.from(JSON.stringify([1, 'created_at', 'desc', 'a', null, ID])).toString('base64url');
    expect(decodeAdminCursor(forged, 'created_at', 'desc')).toBeUndefined();
  });

  test('a cursor is refused for another sort or order', () => {
    const text = encodeAdminCursor('created_at', 'desc', { direction: 'after', keyset: { value: AT, id: ID } });
    expect(decodeAdminCursor(text, 'created_at', 'asc')).toBeUndefined();
    expect(decodeAdminCursor(text, 'last_online', 'desc')).toBeUndefined();
  });

  test('uppercase ids come back lowercase', () => {
    const text = Buffer.from(JSON.stringify([1, 'created_at', 'desc', 'b', AT.toISOString(), ID.toUpperCase()])).toString('base64url');
    expect(decodeAdminCursor(text, 'created_at', 'desc')?.keyset.id).toBe(ID);
  });

  const forge = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
  test.each([
    ['empty', ''],
    ['not base64url', 'a+b/c='],
    ['too long', 'a'.repeat(300)],
    ['not JSON', Buffer.from('{').toString('base64url')],
    ['an object', forge({ v: 1 })],
    ['the wrong length', forge([1, 'created_at', 'desc', 'a', AT.toISOString()])],
    ['another version', forge([2, 'created_at', 'desc', 'a', AT.toISOString(), ID])],
    ['another direction', forge([1, 'created_at', 'desc', 'x', AT.toISOString(), ID])],
    ['a malformed id', forge([1, 'created_at', 'desc', 'a', AT.toISOString(), "' or 1=1"])],
    ['a time that is not ISO', forge([1, 'created_at', 'desc', 'a', 'yesterday', ID])],
    ['an impossible date', forge([1, 'created_at', 'desc', 'a', '2026-02-31T00:00:00.000Z', ID])],
    ['a number for a time', forge([1, 'created_at', 'desc', 'a', 1700000000000, ID])],
  ])('refuses %s without throwing', (_name, text) => {
    expect(decodeAdminCursor(text, 'created_at', 'desc')).toBeUndefined();
  });
});
