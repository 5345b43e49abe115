import type { AdminKeyset, AdminSortKey, SortOrder } from '../core/session-admin-store.js';

/** A decoded page cursor: which way to read from which position. */
export interface AdminCursor {
  /** `after`: the next page; `before`: the previous one. */
  readonly direction: 'after' | 'before';
  readonly keyset: AdminKeyset;
}

const VERSION = 1;
const MAX_LENGTH = 256;
const BASE64URL = /^[A-Za-z0-9_-]+$/;
const ISO = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/**
 * The opaque `cursor` query value of an admin list link: base64url of
 * `[1, sort, order, direction, value, id]`. The sort and order are inside, so a cursor is only
 * accepted for the listing it was made for.
 */
export function encodeAdminCursor(sort: AdminSortKey, order: SortOrder, cursor: AdminCursor): string {
  const { value, id } = cursor.keyset;
  const json = JSON.stringify([
    VERSION,
    sort,
    order,
    cursor.direction === 'after' ? 'a' : 'b',
    value === null ? null : value.toISOString(),
    id,
  ]);
  return Buffer.from(json, 'utf8').toString('base64url');
}

/**
 * Decodes and validates a cursor for this sort and order: `undefined` for anything else (bad
 * encoding, another listing's cursor, a malformed time or id). Never throws.
 */
export function decodeAdminCursor(text: string, sort: AdminSortKey, order: SortOrder): AdminCursor | undefined {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_LENGTH || !BASE64URL.test(text)) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed) || parsed.length !== 6) return undefined;
  const [version, cursorSort, cursorOrder, direction, value, id] = parsed as unknown[];
  if (version !== VERSION || cursorSort !== sort || cursorOrder !== order) return undefined;
  if (direction !== 'a' && direction !== 'b') return undefined;
  if (typeof id !== 'string' || !UUID.test(id)) return undefined;
  let date: Date | null;
  if (value === null) {
    // Only expire_at has "never" values.
    if (sort !== 'expire_at') return undefined;
    date = null;
  } else {
    if (typeof value !== 'string' || !ISO.test(value)) return undefined;
    date = new Date(value);
    if (Number.isNaN(date.getTime()) || date.toISOString() !== value) return undefined;
  }
  return { direction: direction === 'a' ? 'after' : 'before', keyset: { value: date, id: id.toLowerCase() } };
}
