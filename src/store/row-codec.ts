import { SESSION_END_REASONS, type SessionEndReason } from '../core/events.js';
import type { SessionRecord, SessionRef, UserId } from '../core/session.js';
import type { SessionTable, SqlDialect, UserIdType } from './session-table.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const INTEGER = /^-?[0-9]{1,16}$/;
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}(?::?\d{2})?)?$/;

/** The lowercase form of `id` when it is a hyphenated UUID, else `undefined` (no row can match it). */
export function normalizeUuid(id: unknown): string | undefined {
  return typeof id === 'string' && UUID.test(id) ? id.toLowerCase() : undefined;
}

/** A sorted copy: rows are locked in id order so that concurrent writers cannot deadlock. */
export function sortedIds(ids: readonly string[]): string[] {
  return [...ids].sort();
}

/** The columns every read selects, in one place so that every query decodes the same way. */
export const RECORD_COLUMNS = [
  'id',
  'user_id',
  'key_hash',
  'key_prefix',
  'expire_at',
  'is_active',
  'last_online',
  'last_ip',
  'user_agent',
  'detail',
  'created_at',
  'refresh_jti',
  'end_reason',
  'authenticated_at',
] as const satisfies ReadonlyArray<keyof SessionTable>;

/** The columns a {@link SessionRef} needs. */
export const REF_COLUMNS = ['id', 'key_hash', 'user_id'] as const satisfies ReadonlyArray<keyof SessionTable>;

/** A value for a parameter of a timestamp column. */
export type TimeParam = Date | string;

/**
 * How the table writes ids: `uuid`, the hyphenated form (PostgreSQL's `uuid`, `char(36)`, text),
 * or `hex`, the 32 hexadecimal digits without hyphens that Django writes on MySQL. A table
 * converted from the Python original for a coexistence window keeps `char(32)` ids, so that the
 * Django app still finds its rows by id; the core always sees the hyphenated form.
 */
export type IdForm = 'uuid' | 'hex';

const HEX_ID = /^[0-9a-f]{32}$/i;

/** The hyphenated lowercase form of a 32-hex id (Django's `uuid.hex`), else `undefined`. */
export function hyphenateHexId(id: string): string | undefined {
  if (!HEX_ID.test(id)) return undefined;
  const h = id.toLowerCase();
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * Converts values between the core's types and what each driver takes and returns.
 * One instance per store; it holds no state beyond its two settings.
 */
export class RowCodec {
  readonly #dialect: SqlDialect;
  readonly #userIdType: UserIdType;
  readonly #idForm: IdForm;

  /** How `user_id` is stored. */
  get userIdType(): UserIdType {
    return this.#userIdType;
  }

  /** How the table writes ids. */
  get idForm(): IdForm {
    return this.#idForm;
  }

  constructor(dialect: SqlDialect, userIdType: UserIdType, idForm: IdForm = 'uuid') {
    this.#dialect = dialect;
    this.#userIdType = userIdType;
    this.#idForm = idForm;
  }

  /**
   * A session id as a parameter, in the table's form, or `undefined` when it is not a UUID (no
   * row can have it, and PostgreSQL's uuid cast would fail on it).
   */
  id(id: unknown): string | undefined {
    const uuid = normalizeUuid(id);
    if (uuid === undefined || this.#idForm === 'uuid') return uuid;
    return uuid.replaceAll('-', '');
  }

  /** The distinct well-formed ids of `ids`, in the table's form; malformed ones are dropped. */
  ids(ids: readonly string[]): string[] {
    const out = new Set<string>();
    for (const id of ids) {
      const param = this.id(id);
      if (param !== undefined) out.add(param);
    }
    return [...out];
  }

  /** An id read from the table, in the core's form (hyphenated, lowercase). */
  decodeId(value: string): string {
    if (this.#idForm === 'hex') return hyphenateHexId(value) ?? value.toLowerCase();
    return value.toLowerCase();
  }

  /**
   * A time as a parameter. SQLite has no date type: times are `toISOString()` text, whose
   * lexicographic order is time order. PostgreSQL (timestamptz) and mysql2 (DATETIME(3), with
   * the pool's `timezone: 'Z'`) take `Date`s.
   */
  time(date: Date): TimeParam {
    return this.#dialect === 'sqlite' ? date.toISOString() : date;
  }

  /** A boolean as a parameter: better-sqlite3 binds no booleans, so SQLite gets `1`/`0`. */
  bool(value: boolean): boolean | number {
    if (this.#dialect === 'sqlite') return value ? 1 : 0;
    return value;
  }

  /**
   * A user id as a parameter, or `undefined` when no row can hold it (a non-integer under
   * `userIdType: 'integer'`). Under `'string'`, numbers are compared as their decimal text.
   */
  userId(userId: UserId): string | number | undefined {
    if (this.#userIdType === 'string') return typeof userId === 'number' ? String(userId) : userId;
    if (typeof userId === 'number') return Number.isSafeInteger(userId) ? userId : undefined;
    if (typeof userId === 'string' && INTEGER.test(userId)) {
      const n = Number(userId);
      return Number.isSafeInteger(n) ? n : undefined;
    }
    return undefined;
  }

  /** A full row as the core's record. */
  record(row: Pick<SessionTable, (typeof RECORD_COLUMNS)[number]>): SessionRecord {
    return {
      id: this.decodeId(row.id),
      userId: this.#decodeUserId(row.user_id),
      keyHash: row.key_hash,
      keyPrefix: row.key_prefix,
      expireAt: row.expire_at === null ? null : decodeTime(row.expire_at),
      isActive: decodeBool(row.is_active),
      lastOnline: decodeTime(row.last_online),
      lastIp: row.last_ip,
      userAgent: row.user_agent,
      detail: row.detail,
      endReason: decodeEndReason(row.end_reason),
      createdAt: decodeTime(row.created_at),
      authenticatedAt: row.authenticated_at === null ? decodeTime(row.created_at) : decodeTime(row.authenticated_at),
      refreshJti: row.refresh_jti,
    };
  }

  /** The identifying columns of a row as a {@link SessionRef}. */
  ref(row: Pick<SessionTable, (typeof REF_COLUMNS)[number]>): SessionRef {
    return { id: this.decodeId(row.id), keyHash: row.key_hash, userId: this.#decodeUserId(row.user_id) };
  }

  #decodeUserId(value: string | number | bigint): UserId {
    if (this.#userIdType === 'string') return String(value);
    // pg returns bigint columns as strings; mysql2 and better-sqlite3 may return bigint or string
    // for values outside the safe range.
    const n = typeof value === 'number' ? value : Number(value);
    if (!Number.isSafeInteger(n)) {
      throw new RangeError(`nilva-session: user_id ${String(value)} is not a safe integer; use userIdType 'string' for such ids`);
    }
    return n;
  }
}

const END_REASONS: ReadonlySet<string> = new Set(SESSION_END_REASONS);

/** A stored `end_reason`; a code this version does not know (written by a newer one) reads as `null`. */
export function decodeEndReason(value: string | null): SessionEndReason | null {
  return value !== null && END_REASONS.has(value) ? (value as SessionEndReason) : null;
}

/** A boolean from any driver: `true`/`false` (pg), `1`/`0` (mysql2, better-sqlite3). */
export function decodeBool(value: boolean | number | bigint | string): boolean {
  if (typeof value === 'boolean') return value;
  if (typeof value === 'string') return value === '1' || value === 't' || value === 'true';
  return Number(value) !== 0;
}

/**
 * A time from any driver: a `Date` (pg, mysql2), ISO-8601 text (SQLite), or `YYYY-MM-DD HH:MM:SS.fff`
 * (mysql2 with `dateStrings`, pg with a string type parser), which is UTC unless it carries an offset.
 */
export function decodeTime(value: Date | string): Date {
  if (value instanceof Date) return value;
  const m = TIMESTAMP.exec(value);
  if (m === null) throw new RangeError(`nilva-session: unreadable timestamp ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const ms = frac === undefined ? 0 : Number(frac.padEnd(3, '0').slice(0, 3));
  let epoch = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), ms);
  if (zone !== undefined && zone !== 'Z') {
    const sign = zone.startsWith('-') ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offsetMinutes = Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0');
    epoch -= sign * offsetMinutes * 60_000;
  }
  return new Date(epoch);
}
