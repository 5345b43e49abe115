// The application's own users, in the same database as the sessions. nilva-session never sees
// a password or a password hash: it asks `verifyCredentials` for a user id at login and
// `loadUser` for the user record when a session is not cached.
//
// This file is the same in the Express, Fastify, Hono and NestJS examples.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { Generated, Kysely } from 'kysely';
import type { UserId } from 'nilva-session';
import type { SqlDialect } from 'nilva-session/kysely';

/**
 * A signed-in user as the app sees it (`@CurrentUser()`). It is cached with the session, so it
 * stays small and never holds the password hash.
 */
export interface AppUser {
  readonly id: number;
  readonly username: string;
}

interface UserTable {
  id: Generated<number>;
  username: string;
  password_hash: string;
}

/** The app's tables, for Kysely. */
export interface UsersDatabase {
  app_user: UserTable;
}

/** A sign-up body that passed validation, or the errors to answer with 400 (DRF's per-field shape). */
export type SignUpInput =
  | { readonly ok: true; readonly username: string; readonly password: string }
  | { readonly ok: false; readonly errors: Record<string, string[]> };

// Django's username rule, since the session API mirrors Django REST framework.
const USERNAME = /^[\w.@+-]{1,150}$/;
const MIN_PASSWORD = 8;
const MAX_PASSWORD = 1024;

/** Checks `{username, password}` of a sign-up request. */
export function readSignUp(body: unknown): SignUpInput {
  const fields = typeof body === 'object' && body !== null && !Array.isArray(body) ? (body as Record<string, unknown>) : {};
  const errors: Record<string, string[]> = {};
  // Trimmed like the login route trims it, so the name signed up is the name that logs in.
  const username = typeof fields.username === 'string' ? fields.username.trim() : undefined;
  const password = typeof fields.password === 'string' ? fields.password : undefined;
  if (username === undefined || username === '') errors.username = ['This field is required.'];
  else if (!USERNAME.test(username)) errors.username = ['Use at most 150 letters, digits and @/./+/-/_ characters.'];
  if (password === undefined || password === '') errors.password = ['This field is required.'];
  else if (password.length < MIN_PASSWORD) errors.password = [`Use at least ${MIN_PASSWORD} characters.`];
  else if (password.length > MAX_PASSWORD) errors.password = [`Use at most ${MAX_PASSWORD} characters.`];
  if (username === undefined || password === undefined || Object.keys(errors).length > 0) return { ok: false, errors };
  return { ok: true, username, password };
}

// scrypt's cost: N = 2^15, r = 8, p = 1 takes 32 MiB and about 0.1-0.2 s per hash on a small
// server. Each hash records its parameters, so they can be raised later (OWASP suggests
// N = 2^17 where the hardware allows) without breaking the hashes already stored.
const COST = { N: 2 ** 15, r: 8, p: 1 } as const;
const KEY_BYTES = 64;

function derive(password: string, salt: Buffer, cost: { N: number; r: number; p: number }): Promise<Buffer> {
  // maxmem must exceed 128 * N * r bytes, or Node refuses the parameters.
  const maxmem = 256 * cost.N * cost.r;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFKC'), salt, KEY_BYTES, { ...cost, maxmem }, (error, key) => (error ? reject(error) : resolve(key)));
  });
}

/** `scrypt$N$r$p$salt$key`, salt and key in base64. A random salt per password. */
export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, COST);
  return ['scrypt', COST.N, COST.r, COST.p, salt.toString('base64'), key.toString('base64')].join('$');
}

/** Whether `password` matches `stored`, compared in constant time. */
export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, n, r, p, salt, key] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || key === undefined) return false;
  const cost = { N: Number(n), r: Number(r), p: Number(p) };
  if (![cost.N, cost.r, cost.p].every(Number.isSafeInteger)) return false;
  const expected = Buffer.from(key, 'base64');
  const actual = await derive(password, Buffer.from(salt, 'base64'), cost);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The users table: sign-up, the credential check for login, and the loader for sessions. */
export class Users {
  readonly #db: Kysely<UsersDatabase>;
  readonly #dialect: SqlDialect;
  // An unknown username still costs one scrypt against this hash, so the time a login takes
  // does not tell which usernames exist.
  readonly #dummyHash: Promise<string> = hashPassword(randomBytes(16).toString('base64'));

  constructor(db: Kysely<UsersDatabase>, dialect: SqlDialect) {
    this.#db = db;
    this.#dialect = dialect;
  }

  /** Creates the table when it is missing. A real app has its own migrations for this. */
  async migrate(): Promise<void> {
    await this.#db.schema
      .createTable('app_user')
      .ifNotExists()
      // AUTOINCREMENT (SQLite) and serial (PostgreSQL) never hand out an id again, so a new
      // user can never inherit the sessions of a deleted one. Delete users with
      // `sessions.revokeAllForUser(id)` all the same.
      .addColumn('id', this.#dialect === 'postgres' ? 'serial' : 'integer', (c) =>
        this.#dialect === 'postgres' ? c.primaryKey() : c.primaryKey().autoIncrement(),
      )
      .addColumn('username', 'varchar(150)', (c) => c.notNull().unique())
      .addColumn('password_hash', 'varchar(255)', (c) => c.notNull())
      .execute();
  }

  /** Adds a user; `undefined` when the username is taken. */
  async signUp(username: string, password: string): Promise<AppUser | undefined> {
    const passwordHash = await hashPassword(password);
    try {
      await this.#db.insertInto('app_user').values({ username, password_hash: passwordHash }).execute();
    } catch (error) {
      // Two sign-ups with one name at once: the unique index lets one through.
      if (await this.#findByName(username)) return undefined;
      throw error;
    }
    return this.#findByName(username);
  }

  /** For `SessionApi`: the user's id when the password matches, else `null`. */
  readonly verifyCredentials = async (username: string, password: string): Promise<number | null> => {
    const row = await this.#db.selectFrom('app_user').select(['id', 'password_hash']).where('username', '=', username).executeTakeFirst();
    if (row === undefined) {
      await verifyPassword(password, await this.#dummyHash);
      return null;
    }
    return (await verifyPassword(password, row.password_hash)) ? row.id : null;
  };

  /** For `SessionManager`: the user behind a session, `null` once deleted (the session then ends). */
  readonly loadUser = async (userId: UserId): Promise<AppUser | null> => {
    const id = Number(userId);
    if (!Number.isSafeInteger(id)) return null;
    const row = await this.#db.selectFrom('app_user').select(['id', 'username']).where('id', '=', id).executeTakeFirst();
    return row === undefined ? null : { id: row.id, username: row.username };
  };

  async #findByName(username: string): Promise<AppUser | undefined> {
    const row = await this.#db.selectFrom('app_user').select(['id', 'username']).where('username', '=', username).executeTakeFirst();
    return row === undefined ? undefined : { id: row.id, username: row.username };
  }
}
