// The demo application's own users table. A real app has one already; nilva-session only needs
// `verifyCredentials` and `loadUser` from it.
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { type Kysely, sql } from 'kysely';
import type { UserId } from 'nilva-session';

export interface DemoUser {
  readonly id: number;
  readonly username: string;
  readonly isActive: boolean;
  readonly isStaff: boolean;
}

interface UserRow {
  id: number;
  username: string;
  password_hash: string;
  is_active: number | boolean;
  is_staff: number | boolean;
}

export interface DemoDatabase {
  demo_user: UserRow;
}

const SEED = [
  { id: 1, username: 'alice', password: 'alice-password', isStaff: false },
  { id: 2, username: 'bob', password: 'bob-password', isStaff: false },
  { id: 3, username: 'admin', password: 'admin-password', isStaff: true },
] as const;

function scryptAsync(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => scrypt(password, salt, 32, (err, key) => (err ? reject(err) : resolve(key))));
}

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  return `scrypt$${salt.toString('base64')}$${(await scryptAsync(password, salt)).toString('base64')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scryptAsync(password, Buffer.from(salt, 'base64'));
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}

/** The demo's user directory on the same database as the sessions. */
export class DemoUsers {
  readonly #db: Kysely<DemoDatabase>;
  readonly #dialect: 'postgres' | 'mysql' | 'sqlite';
  readonly #bool: (value: boolean) => boolean | number;
  // Unknown usernames still cost one scrypt, so timing does not reveal which names exist.
  readonly #dummyHash = hashPassword('not-a-password');

  constructor(db: Kysely<DemoDatabase>, dialect: 'postgres' | 'mysql' | 'sqlite') {
    this.#db = db;
    this.#dialect = dialect;
    // SQLite binds no booleans.
    this.#bool = dialect === 'sqlite' ? (value) => (value ? 1 : 0) : (value) => value;
  }

  /**
   * Creates the table and seeds alice, bob and admin, keeping them if they exist. Safe when
   * several demo processes start at once on a fresh database: each may find the table missing
   * and the users absent, so whichever creates or inserts second must accept the first's work.
   */
  async setUp(): Promise<void> {
    try {
      await this.#db.schema
        .createTable('demo_user')
        .ifNotExists()
        .addColumn('id', 'integer', (c) => c.primaryKey())
        .addColumn('username', 'varchar(150)', (c) => c.notNull().unique())
        .addColumn('password_hash', 'varchar(200)', (c) => c.notNull())
        .addColumn('is_active', 'boolean', (c) => c.notNull())
        .addColumn('is_staff', 'boolean', (c) => c.notNull())
        .execute();
    } catch (error) {
      // PostgreSQL checks IF NOT EXISTS before it writes the catalog: of two concurrent
      // creations, the second fails (a unique violation on pg_type, or "type already exists")
      // once the first has committed. The table is there then, which is all that was asked.
      if (!(await this.#tableExists())) throw error;
    }
    for (const user of SEED) {
      const existing = await this.#db.selectFrom('demo_user').select('id').where('username', '=', user.username).executeTakeFirst();
      if (existing !== undefined) continue;
      // Another process may insert the same user between the check and here: keep its row.
      const insert = this.#db.insertInto('demo_user').values({
        id: user.id,
        username: user.username,
        password_hash: await hashPassword(user.password),
        is_active: this.#bool(true),
        is_staff: this.#bool(user.isStaff),
      });
      await (this.#dialect === 'mysql'
        ? insert.onDuplicateKeyUpdate({ id: sql<number>`id` })
        : insert.onConflict((conflict) => conflict.doNothing())
      ).execute();
    }
  }

  async #tableExists(): Promise<boolean> {
    try {
      await this.#db.selectFrom('demo_user').select('id').limit(1).execute();
      return true;
    } catch {
      return false;
    }
  }

  /** `verifyCredentials` for the session API: the user's id, or null. */
  readonly verifyCredentials = async (username: string, password: string): Promise<UserId | null> => {
    const row = await this.#db.selectFrom('demo_user').selectAll().where('username', '=', username).executeTakeFirst();
    if (row === undefined) {
      await verifyPassword(password, await this.#dummyHash);
      return null;
    }
    const ok = await verifyPassword(password, row.password_hash);
    return ok && row.is_active ? row.id : null;
  };

  /** `loadUser` for the session manager: a small record, no password hash. */
  readonly loadUser = async (userId: UserId): Promise<DemoUser | null> => {
    const id = Number(userId);
    if (!Number.isSafeInteger(id)) return null;
    const row = await this.#db.selectFrom('demo_user').selectAll().where('id', '=', id).executeTakeFirst();
    if (row === undefined) return null;
    return { id: row.id, username: row.username, isActive: Boolean(row.is_active), isStaff: Boolean(row.is_staff) };
  };

  /** Whether the database answers. */
  async ping(): Promise<boolean> {
    try {
      await sql`select 1`.execute(this.#db);
      return true;
    } catch {
      return false;
    }
  }
}
