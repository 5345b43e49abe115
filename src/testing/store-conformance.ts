import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { SESSION_END_REASONS } from '../core/events.js';
import type { SessionEnd, SessionRecord, SessionRef, UserId } from '../core/session.js';
import type { ActivePage, SessionLimit, SessionStore } from '../core/session-store.js';

/** A store under test, as the factory of {@link defineSessionStoreConformance} returns it. */
export interface SessionStoreHarness {
  /** A store over an empty table (or equivalent), for one test. */
  readonly store: SessionStore;
  /**
   * The user ids the store takes: `'string'` (default) or `'integer'`. The suite checks that
   * ids come back with this type.
   */
  readonly userIdType?: 'string' | 'integer' | undefined;
  /** Releases what the factory created (drop the table, close the pool). */
  cleanup(): Promise<void>;
}

/** Creates a fresh, empty store for one test. */
export type SessionStoreFactory = () => Promise<SessionStoreHarness>;

/**
 * The test functions of your runner: vitest's and jest's `describe`/`test`, or `node:test`'s
 * `describe`/`it`. Each test creates its store through the factory and cleans it up itself, so
 * no hooks are needed and the suite behaves the same under every runner.
 */
export interface ConformanceTestApi {
  describe(name: string, body: () => void): void;
  test(name: string, body: () => Promise<void>): void;
}

const T0 = Date.UTC(2026, 10, 27, 11, 12, 12, 750);
/** A time `seconds` after a fixed instant, at millisecond precision. */
const at = (seconds: number): Date => new Date(T0 + Math.round(seconds * 1000));
const DAY = 86_400;
const FIREFOX = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0';
const BY_USER: SessionEnd = { reason: 'revoked_by_user', detail: 'Revoked by the user.' };
const LOGOUT: SessionEnd = { reason: 'logout', detail: 'Logged out.' };
const ALL: SessionEnd = { reason: 'revoked_all', detail: 'Revoked with all of the user’s sessions.' };
const LIMIT_END: SessionEnd = { reason: 'session_limit', detail: 'Ended: the user reached the session limit.' };
// Two ends told apart by both fields, to see which of two racing calls won.
const FIRST: SessionEnd = { reason: 'logout', detail: 'first' };
const SECOND: SessionEnd = { reason: 'admin', detail: 'second' };

function sha256(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

/** Per-test helpers: sessions to insert, user ids of the store's type, reads. */
class Fixture {
  readonly store: SessionStore;
  readonly integerIds: boolean;
  #nextUser = 0;

  constructor(harness: SessionStoreHarness) {
    this.store = harness.store;
    this.integerIds = harness.userIdType === 'integer';
  }

  /** A new user id of the store's type. */
  user(): UserId {
    this.#nextUser++;
    return this.integerIds ? 7000 + this.#nextUser : `user-${this.#nextUser}`;
  }

  /** The raw token each session built by {@link session} was made from. */
  readonly #tokens = new WeakMap<SessionRecord, string>();

  /** The raw token of a session built by {@link session}, as the core passes it to the store. */
  tokenOf(session: SessionRecord): string {
    const token = this.#tokens.get(session);
    assert.ok(token !== undefined, 'the session was not built by the fixture');
    return token;
  }

  /** A session record (not inserted) with realistic values; `fields` override them. */
  session(userId: UserId, fields: Partial<SessionRecord> = {}): SessionRecord {
    const token = randomBytes(32).toString('hex');
    const session: SessionRecord = {
      id: randomUUID(),
      userId,
      keyHash: sha256(token),
      keyPrefix: token.slice(0, 8),
      expireAt: at(30 * DAY),
      isActive: true,
      lastOnline: at(0),
      lastIp: '203.0.113.7',
      userAgent: FIREFOX,
      detail: null,
      endReason: null,
      createdAt: at(0),
      authenticatedAt: at(0),
      refreshJti: null,
      ...fields,
    };
    this.#tokens.set(session, token);
    return session;
  }

  /** Inserts a session built by {@link session} (with its raw token, as the core passes it) and returns it. */
  async insert(userId: UserId, fields: Partial<SessionRecord> = {}): Promise<SessionRecord> {
    const token = randomBytes(32).toString('hex');
    const session = this.session(userId, { keyHash: sha256(token), keyPrefix: token.slice(0, 8), ...fields });
    await this.store.insert(session, { token });
    return session;
  }

  async get(id: string): Promise<SessionRecord> {
    const found = await this.store.findById(id);
    assert.ok(found, `session ${id} should exist`);
    return found;
  }
}

/** A cap for insertWithinLimit, counted at `now` (default 10 s after the fixtures' instant). */
function cap(max: number, action: SessionLimit['action'], now = at(10)): SessionLimit {
  return { max, action, now, end: LIMIT_END };
}

function refOf(session: SessionRecord): SessionRef {
  return { id: session.id, keyHash: session.keyHash, userId: session.userId };
}

function byId<T extends { readonly id: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

function assertSameRefs(actual: readonly SessionRef[], expected: readonly SessionRecord[], message?: string): void {
  assert.deepStrictEqual(byId(actual), byId(expected.map(refOf)), message);
}

/**
 * Registers the conformance suite every {@link SessionStore} must pass: each method of the
 * interface and its edge cases, with `node:assert/strict`, under any test runner.
 *
 * The factory is called once per test and must return an empty store; `cleanup` is always
 * called afterwards.
 *
 * @example
 * import { describe, test } from 'vitest';
 * defineSessionStoreConformance('KyselySessionStore on SQLite', async () => {
 *   const db = await openMyDatabase();
 *   return { store: new KyselySessionStore({ db, dialect: 'sqlite' }), cleanup: () => db.destroy() };
 * }, { describe, test });
 */
export function defineSessionStoreConformance(name: string, factory: SessionStoreFactory, api: ConformanceTestApi): void {
  const it = (title: string, body: (f: Fixture) => Promise<void>): void => {
    api.test(title, async () => {
      const harness = await factory();
      try {
        await body(new Fixture(harness));
      } finally {
        await harness.cleanup();
      }
    });
  };

  api.describe(`${name}: SessionStore conformance`, () => {
    api.describe('insert, findByKeyHash, findById', () => {
      it('findByKeyHash returns the inserted session with every field exactly as written', async (f) => {
        const session = await f.insert(f.user(), {
          expireAt: at(DAY + 0.001),
          lastOnline: at(12.345),
          createdAt: at(-0.999),
          authenticatedAt: at(3.21),
          lastIp: '2001:db8::1',
        });
        assert.deepStrictEqual(await f.store.findByKeyHash(session.keyHash), session);
      });

      it('findById returns the inserted session with every field exactly as written', async (f) => {
        const session = await f.insert(f.user(), { lastOnline: at(0.001), createdAt: at(0.001) });
        assert.deepStrictEqual(await f.store.findById(session.id), session);
      });

      it('a null expireAt comes back as null', async (f) => {
        const session = await f.insert(f.user(), { expireAt: null });
        assert.deepStrictEqual(await f.get(session.id), session);
      });

      it('every end reason is kept as written', async (f) => {
        for (const reason of SESSION_END_REASONS) {
          const session = await f.insert(f.user(), { isActive: false, detail: `ended: ${reason}`, endReason: reason });
          assert.deepStrictEqual(await f.get(session.id), session);
        }
      });

      it('an inactive session with a detail comes back inactive with its detail', async (f) => {
        const session = await f.insert(f.user(), { isActive: false, detail: 'Revoked by an administrator.', endReason: 'admin' });
        assert.deepStrictEqual(await f.get(session.id), session);
      });

      it('an 8 KB user agent of mixed scripts, emoji and combining marks comes back unchanged', async (f) => {
        const piece = 'Mozilla/5.0 (Ünïcödé; 中文; العربية; e\u0301) 🦊🚀 ';
        const userAgent = piece.repeat(Math.ceil(8192 / piece.length)).slice(0, 8192);
        const session = await f.insert(f.user(), { userAgent });
        const found = await f.get(session.id);
        assert.equal(found.userAgent, userAgent);
        assert.deepStrictEqual(found, session);
      });

      it('an empty user agent and an empty IP come back as empty strings, not null', async (f) => {
        const session = await f.insert(f.user(), { userAgent: '', lastIp: '' });
        assert.deepStrictEqual(await f.get(session.id), session);
      });

      it('a 45-character IPv6 address comes back unchanged', async (f) => {
        const lastIp = '0000:0000:0000:0000:0000:ffff:192.168.100.228';
        assert.equal(lastIp.length, 45);
        const session = await f.insert(f.user(), { lastIp });
        assert.equal((await f.get(session.id)).lastIp, lastIp);
      });

      it('user ids come back with the store’s user id type', async (f) => {
        const userIds: UserId[] = f.integerIds ? [1, 42, Number.MAX_SAFE_INTEGER] : ['007', '42', 'Zoë 🦊', 'a'.repeat(150)];
        for (const userId of userIds) {
          const session = await f.insert(userId);
          const found = await f.get(session.id);
          assert.equal(typeof found.userId, f.integerIds ? 'number' : 'string');
          assert.equal(found.userId, userId);
        }
      });

      it('a second session with the same key hash is refused', async (f) => {
        const first = await f.insert(f.user());
        await assert.rejects(f.store.insert(f.session(f.user(), { keyHash: first.keyHash })));
        assert.deepStrictEqual(await f.store.findByKeyHash(first.keyHash), first);
      });

      it('unknown key hashes and ids are undefined', async (f) => {
        await f.insert(f.user());
        assert.equal(await f.store.findByKeyHash(sha256('unknown')), undefined);
        assert.equal(await f.store.findById(randomUUID()), undefined);
      });

      it('malformed ids are unknown, not errors', async (f) => {
        const session = await f.insert(f.user());
        const malformed = ['', 'not-a-uuid', '123', `${session.id}0`, session.id.replaceAll('-', ''), `{${session.id}}`, "' or '1'='1"];
        for (const id of malformed) assert.equal(await f.store.findById(id), undefined, `findById(${JSON.stringify(id)})`);
        assert.equal(await f.store.findByKeyHash("' or '1'='1"), undefined);
      });
    });

    api.describe('insertWithinLimit (optional: a store without it passes these trivially)', () => {
      /** The store's insertWithinLimit, or undefined when it has none (the test then has nothing to check). */
      const limited = (f: Fixture) => {
        const insertWithinLimit = f.store.insertWithinLimit?.bind(f.store);
        if (insertWithinLimit === undefined) return undefined;
        // With the raw token, as the core passes it (a store may have to keep it).
        return (session: SessionRecord, limit: SessionLimit) => insertWithinLimit(session, limit, { token: f.tokenOf(session) });
      };

      it('below the cap: inserts the session as insert does and ends nothing', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const existing = await f.insert(user);
        const session = f.session(user, { lastOnline: at(5) });
        assert.deepStrictEqual(await insertWithinLimit(session, cap(2, 'end-least-recent')), { inserted: true, ended: [] });
        assert.deepStrictEqual(await f.get(session.id), session);
        assert.deepStrictEqual(await f.get(existing.id), existing);
      });

      it('end-least-recent at the cap: ends the least recently used, records why, then inserts', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const oldest = await f.insert(user, { lastOnline: at(1) });
        const middle = await f.insert(user, { lastOnline: at(3) });
        const newest = await f.insert(user, { lastOnline: at(2.5) });
        const session = f.session(user, { lastOnline: at(9) });
        const result = await insertWithinLimit(session, cap(3, 'end-least-recent'));
        assert.equal(result.inserted, true);
        assertSameRefs(result.ended, [oldest]);
        assert.deepStrictEqual(await f.get(oldest.id), {
          ...oldest,
          isActive: false,
          detail: LIMIT_END.detail,
          endReason: LIMIT_END.reason,
        });
        assert.deepStrictEqual(await f.store.listActive(user, at(10)), [session, middle, newest]);
      });

      it('end-least-recent over the cap (lowered since): ends as many as it takes to keep max − 1, then inserts', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const sessions: SessionRecord[] = [];
        for (const t of [4, 1, 5, 2, 3]) sessions.push(await f.insert(user, { lastOnline: at(t) }));
        const session = f.session(user, { lastOnline: at(9) });
        const result = await insertWithinLimit(session, cap(3, 'end-least-recent'));
        const byRecency = [...sessions].sort((a, b) => b.lastOnline.getTime() - a.lastOnline.getTime());
        assertSameRefs(result.ended, byRecency.slice(2));
        assert.deepStrictEqual(await f.store.listActive(user, at(10)), [session, ...byRecency.slice(0, 2)]);
      });

      it('refuse at the cap: inserts nothing and ends nothing', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const kept = [await f.insert(user, { lastOnline: at(1) }), await f.insert(user, { lastOnline: at(2) })];
        const session = f.session(user);
        assert.deepStrictEqual(await insertWithinLimit(session, cap(2, 'refuse')), { inserted: false, ended: [] });
        assert.equal(await f.store.findById(session.id), undefined);
        for (const k of kept) assert.deepStrictEqual(await f.get(k.id), k);
      });

      it('counts as listActive does: ended and expired sessions and other users’ do not count', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const now = at(DAY);
        const active = [await f.insert(user, { expireAt: null }), await f.insert(user, { expireAt: at(DAY + 1) })];
        await f.insert(user, { isActive: false, detail: LOGOUT.detail, endReason: LOGOUT.reason });
        await f.insert(user, { expireAt: now }); // expired at exactly `now`
        for (let i = 0; i < 4; i++) await f.insert(f.user());
        const session = f.session(user);
        for (const action of ['end-least-recent', 'refuse'] as const) {
          const next = f.session(user);
          assert.deepStrictEqual(await insertWithinLimit(next, cap(4, action, now)), {
            inserted: true,
            ended: [],
          });
          active.push(next);
        }
        assert.deepStrictEqual(await insertWithinLimit(session, cap(4, 'refuse', now)), { inserted: false, ended: [] });
        assertSameRefs((await f.store.listActive(user, now)).map(refOf), active);
      });

      it('an insert that fails (a duplicate key hash) ends nothing', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const first = await f.insert(user, { lastOnline: at(1) });
        const second = await f.insert(user, { lastOnline: at(2) });
        await assert.rejects(insertWithinLimit(f.session(user, { keyHash: second.keyHash }), cap(2, 'end-least-recent')));
        for (const s of [first, second]) assert.deepStrictEqual(await f.get(s.id), s);
      });

      it('of 24 concurrent calls for one user (end-least-recent, max 4), all insert and exactly 4 stay active', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const sessions = Array.from({ length: 24 }, (_, i) => f.session(user, { lastOnline: at(i / 100) }));
        const results = await Promise.all(sessions.map((s) => insertWithinLimit(s, cap(4, 'end-least-recent'))));
        assert.ok(results.every((r) => r.inserted));
        const active = await f.store.listActive(user, at(10));
        assert.equal(active.length, 4);
        // Every session ended once, by the call that made room for another.
        const ended = results.flatMap((r) => r.ended.map((ref) => ref.id));
        assert.equal(new Set(ended).size, ended.length);
        assert.deepStrictEqual([...ended, ...active.map((s) => s.id)].sort(), sessions.map((s) => s.id).sort());
      });

      it('of 24 concurrent calls for one user (refuse, max 4), exactly 4 insert: the ones active', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const user = f.user();
        const sessions = Array.from({ length: 24 }, () => f.session(user));
        const results = await Promise.all(sessions.map((s) => insertWithinLimit(s, cap(4, 'refuse'))));
        const inserted = sessions.filter((_, i) => results[i]?.inserted);
        assert.equal(inserted.length, 4);
        assert.ok(results.every((r) => r.ended.length === 0));
        assertSameRefs((await f.store.listActive(user, at(10))).map(refOf), inserted);
      });

      it('concurrent calls for two users keep each user at the cap', async (f) => {
        const insertWithinLimit = limited(f);
        if (insertWithinLimit === undefined) return;
        const [one, two] = [f.user(), f.user()];
        const calls = Array.from({ length: 20 }, (_, i) =>
          insertWithinLimit(f.session(i % 2 === 0 ? one : two), cap(2, 'end-least-recent')),
        );
        await Promise.all(calls);
        assert.equal((await f.store.listActive(one, at(10))).length, 2);
        assert.equal((await f.store.listActive(two, at(10))).length, 2);
      });
    });

    api.describe('listActive', () => {
      it('lists only the user’s active sessions that have not expired at `now`', async (f) => {
        const user = f.user();
        const now = at(DAY);
        const noExpiry = await f.insert(user, { expireAt: null, lastOnline: at(3) });
        const later = await f.insert(user, { expireAt: at(DAY + 0.001), lastOnline: at(2) });
        await f.insert(user, { isActive: false, detail: LOGOUT.detail, endReason: LOGOUT.reason, lastOnline: at(5) });
        await f.insert(user, { expireAt: at(DAY - 1), lastOnline: at(6) });
        await f.insert(user, { expireAt: now, lastOnline: at(7) }); // expired at exactly `now`
        await f.insert(f.user(), { expireAt: null, lastOnline: at(8) });
        assert.deepStrictEqual(await f.store.listActive(user, now), [noExpiry, later]);
      });

      it('orders sessions by last_online, newest first', async (f) => {
        const user = f.user();
        const times = [5, 1, 9.5, 3, 9.499, 7];
        const sessions: SessionRecord[] = [];
        for (const t of times) sessions.push(await f.insert(user, { lastOnline: at(t) }));
        const expected = [...sessions].sort((a, b) => b.lastOnline.getTime() - a.lastOnline.getTime());
        assert.deepStrictEqual(await f.store.listActive(user, at(10)), expected);
      });

      it('lists sessions with equal last_online once each', async (f) => {
        const user = f.user();
        const sessions = [await f.insert(user), await f.insert(user), await f.insert(user)];
        assert.deepStrictEqual(byId(await f.store.listActive(user, at(1))), byId(sessions));
      });

      it('is empty for a user without sessions', async (f) => {
        await f.insert(f.user());
        assert.deepStrictEqual(await f.store.listActive(f.user(), at(1)), []);
      });

      it('treats user ids that differ in case, spacing or type as different users', async (f) => {
        if (f.integerIds) {
          const one = await f.insert(1);
          await f.insert(11);
          await f.insert(10);
          assert.deepStrictEqual(await f.store.listActive(1, at(1)), [one]);
          return;
        }
        const alice = await f.insert('alice');
        await f.insert('Alice');
        await f.insert('alice ');
        await f.insert(' alice');
        assert.deepStrictEqual(await f.store.listActive('alice', at(1)), [alice]);
        assertSameRefs(await f.store.refsForUser('alice'), [alice]);
      });
    });

    // Optional: a store without it is paged by the core from listActive's whole answer.
    api.describe('listActivePage', () => {
      const pageOf = (f: Fixture, userId: UserId, now: Date, page: ActivePage) => {
        const list = f.store.listActivePage;
        return list === undefined ? undefined : list.call(f.store, userId, now, page);
      };

      it('walks listActive’s order page by page, ties of last_online included, each session once', async (f) => {
        const user = f.user();
        // Pairs share a last_online, so the id must break ties at page boundaries.
        for (const t of [5, 5, 3, 3, 3, 9, 1, 7, 7]) await f.insert(user, { lastOnline: at(t) });
        await f.insert(user, { isActive: false, detail: LOGOUT.detail, endReason: LOGOUT.reason, lastOnline: at(8) });
        await f.insert(f.user(), { lastOnline: at(6) });
        const all = await f.store.listActive(user, at(10));
        const walked: SessionRecord[] = [];
        let after: ActivePage['after'];
        for (let n = 0; n < 10; n++) {
          const page = await pageOf(f, user, at(10), { limit: 2, after });
          if (page === undefined) return;
          assert.ok(page.length <= 2);
          if (page.length === 0) break;
          walked.push(...page);
          const last = page[page.length - 1] as SessionRecord;
          after = { lastOnline: last.lastOnline, id: last.id };
        }
        assert.deepStrictEqual(walked, all);
        assert.equal(all.length, 9);
      });

      it('answers the first page without a position, and nothing after the last session', async (f) => {
        const user = f.user();
        const newest = await f.insert(user, { lastOnline: at(9) });
        const oldest = await f.insert(user, { lastOnline: at(2) });
        const first = await pageOf(f, user, at(10), { limit: 1 });
        if (first === undefined) return;
        assert.deepStrictEqual(first, [newest]);
        assert.deepStrictEqual(await pageOf(f, user, at(10), { limit: 5 }), [newest, oldest]);
        assert.deepStrictEqual(await pageOf(f, user, at(10), { limit: 5, after: { lastOnline: oldest.lastOnline, id: oldest.id } }), []);
      });

      it('leaves out sessions that ended or expired between pages', async (f) => {
        const user = f.user();
        const a = await f.insert(user, { lastOnline: at(9) });
        const b = await f.insert(user, { lastOnline: at(8), expireAt: at(DAY) });
        const c = await f.insert(user, { lastOnline: at(7) });
        const first = await pageOf(f, user, at(10), { limit: 1 });
        if (first === undefined) return;
        assert.deepStrictEqual(first, [a]);
        await f.store.deactivate([c.id], LOGOUT);
        assert.deepStrictEqual(await pageOf(f, user, at(DAY + 1), { limit: 5, after: { lastOnline: a.lastOnline, id: a.id } }), []);
        assert.deepStrictEqual(await pageOf(f, user, at(10), { limit: 5, after: { lastOnline: a.lastOnline, id: a.id } }), [b]);
      });
    });

    api.describe('updateLastIp', () => {
      it('changes last_ip and nothing else', async (f) => {
        const session = await f.insert(f.user());
        const other = await f.insert(f.user());
        await f.store.updateLastIp(session.id, '198.51.100.23');
        assert.deepStrictEqual(await f.get(session.id), { ...session, lastIp: '198.51.100.23' });
        assert.deepStrictEqual(await f.get(other.id), other);
      });

      it('ignores unknown and malformed ids', async (f) => {
        const session = await f.insert(f.user());
        await f.store.updateLastIp(randomUUID(), '198.51.100.23');
        await f.store.updateLastIp('not-a-uuid', '198.51.100.23');
        assert.deepStrictEqual(await f.get(session.id), session);
      });
    });

    api.describe('touch', () => {
      it('moves last_online forward and changes nothing else', async (f) => {
        const session = await f.insert(f.user(), { lastOnline: at(10) });
        const other = await f.insert(f.user(), { lastOnline: at(10) });
        await f.store.touch([{ id: session.id, lastOnline: at(70.123) }]);
        assert.deepStrictEqual(await f.get(session.id), { ...session, lastOnline: at(70.123) });
        assert.deepStrictEqual(await f.get(other.id), other);
      });

      it('never moves last_online backwards', async (f) => {
        const session = await f.insert(f.user(), { lastOnline: at(100) });
        await f.store.touch([{ id: session.id, lastOnline: at(99.999) }]);
        assert.deepStrictEqual(await f.get(session.id), session);
        await f.store.touch([{ id: session.id, lastOnline: at(100) }]);
        assert.deepStrictEqual(await f.get(session.id), session);
      });

      it('keeps the latest time when one call names a session several times', async (f) => {
        const session = await f.insert(f.user(), { lastOnline: at(0) });
        await f.store.touch([
          { id: session.id, lastOnline: at(30) },
          { id: session.id, lastOnline: at(50) },
          { id: session.id, lastOnline: at(40) },
        ]);
        assert.deepStrictEqual((await f.get(session.id)).lastOnline, at(50));
      });

      it('writes 500 sessions in one call, each forward only', async (f) => {
        const user = f.user();
        const sessions: SessionRecord[] = [];
        for (let i = 0; i < 500; i++) sessions.push(await f.insert(user, { lastOnline: at(1000) }));
        // Every third entry is older than the stored value and must be ignored.
        const entries = sessions.map((s, i) => ({ id: s.id, lastOnline: i % 3 === 0 ? at(500 + i) : at(2000 + i) }));
        await f.store.touch(entries);
        const listed = await f.store.listActive(user, at(1));
        assert.equal(listed.length, 500);
        const expected = new Map(sessions.map((s, i) => [s.id, i % 3 === 0 ? at(1000) : at(2000 + i)]));
        for (const row of listed) assert.deepStrictEqual(row.lastOnline, expected.get(row.id), `last_online of ${row.id}`);
      });

      it('ignores unknown and malformed ids, and an empty batch', async (f) => {
        const session = await f.insert(f.user(), { lastOnline: at(10) });
        await f.store.touch([]);
        await f.store.touch([
          { id: randomUUID(), lastOnline: at(20) },
          { id: 'not-a-uuid', lastOnline: at(20) },
          { id: session.id, lastOnline: at(30) },
        ]);
        assert.deepStrictEqual(await f.get(session.id), { ...session, lastOnline: at(30) });
      });
    });

    api.describe('deactivate', () => {
      it('marks active sessions inactive with the detail and returns exactly those', async (f) => {
        const user = f.user();
        const a = await f.insert(user);
        const b = await f.insert(user);
        const untouched = await f.insert(user);
        const refs = await f.store.deactivate([a.id, b.id], BY_USER);
        assertSameRefs(refs, [a, b]);
        assert.deepStrictEqual(await f.get(a.id), { ...a, isActive: false, detail: BY_USER.detail, endReason: BY_USER.reason });
        assert.deepStrictEqual(await f.get(b.id), { ...b, isActive: false, detail: BY_USER.detail, endReason: BY_USER.reason });
        assert.deepStrictEqual(await f.get(untouched.id), untouched);
      });

      it('skips sessions already inactive and keeps their detail', async (f) => {
        const ended = await f.insert(f.user(), { isActive: false, detail: LOGOUT.detail, endReason: LOGOUT.reason });
        assert.deepStrictEqual(await f.store.deactivate([ended.id], BY_USER), []);
        assert.deepStrictEqual(await f.get(ended.id), ended);
      });

      it('with userId, changes only that user’s sessions', async (f) => {
        const owner = f.user();
        const mine = await f.insert(owner);
        const theirs = await f.insert(f.user());
        const refs = await f.store.deactivate([mine.id, theirs.id], BY_USER, { userId: owner });
        assertSameRefs(refs, [mine]);
        assert.equal((await f.get(mine.id)).isActive, false);
        assert.deepStrictEqual(await f.get(theirs.id), theirs);
      });

      it('ignores unknown, malformed and repeated ids', async (f) => {
        const session = await f.insert(f.user());
        const refs = await f.store.deactivate([session.id, randomUUID(), 'not-a-uuid', '', session.id], LOGOUT);
        assertSameRefs(refs, [session]);
      });

      it('changes nothing for an empty list', async (f) => {
        const session = await f.insert(f.user());
        assert.deepStrictEqual(await f.store.deactivate([], LOGOUT), []);
        assert.deepStrictEqual(await f.get(session.id), session);
      });

      it('reports a session exactly once when two calls end it at the same time', async (f) => {
        const user = f.user();
        for (let round = 0; round < 5; round++) {
          const session = await f.insert(user);
          const [first, second] = await Promise.all([
            f.store.deactivate([session.id], FIRST),
            f.store.deactivate([session.id], SECOND, { userId: user }),
          ]);
          assert.equal(first.length + second.length, 1, `round ${round}: reported ${first.length + second.length} times`);
          const winner = first.length === 1 ? FIRST : SECOND;
          assert.deepStrictEqual(await f.get(session.id), { ...session, isActive: false, detail: winner.detail, endReason: winner.reason });
        }
      });

      it('reports each session once when deactivate and deactivateAllForUser race', async (f) => {
        const user = f.user();
        const sessions: SessionRecord[] = [];
        for (let i = 0; i < 6; i++) sessions.push(await f.insert(user));
        const [some, all] = await Promise.all([
          f.store.deactivate(
            sessions.slice(0, 3).map((s) => s.id),
            BY_USER,
          ),
          f.store.deactivateAllForUser(user, ALL),
        ]);
        assertSameRefs([...some, ...all], sessions);
      });
    });

    api.describe('deactivateAllForUser', () => {
      it('ends every active session of the user, expired or not, and returns them', async (f) => {
        const user = f.user();
        const a = await f.insert(user);
        const expired = await f.insert(user, { expireAt: at(-1) });
        const ended = await f.insert(user, { isActive: false, detail: LOGOUT.detail, endReason: LOGOUT.reason });
        const other = await f.insert(f.user());
        const refs = await f.store.deactivateAllForUser(user, ALL);
        assertSameRefs(refs, [a, expired]);
        assert.deepStrictEqual(await f.get(a.id), { ...a, isActive: false, detail: ALL.detail, endReason: ALL.reason });
        assert.deepStrictEqual(await f.get(ended.id), ended);
        assert.deepStrictEqual(await f.get(other.id), other);
      });

      it('keeps exceptId active', async (f) => {
        const user = f.user();
        const current = await f.insert(user);
        const a = await f.insert(user);
        const refs = await f.store.deactivateAllForUser(user, ALL, { exceptId: current.id });
        assertSameRefs(refs, [a]);
        assert.deepStrictEqual(await f.get(current.id), current);
      });

      it('excepts nothing when exceptId is malformed or names another user’s session', async (f) => {
        const user = f.user();
        const a = await f.insert(user);
        const foreign = await f.insert(f.user());
        assertSameRefs(await f.store.deactivateAllForUser(user, ALL, { exceptId: 'not-a-uuid' }), [a]);
        const b = await f.insert(user);
        assertSameRefs(await f.store.deactivateAllForUser(user, ALL, { exceptId: foreign.id }), [b]);
        assert.deepStrictEqual(await f.get(foreign.id), foreign);
      });

      it('returns nothing for a user without active sessions', async (f) => {
        await f.insert(f.user());
        assert.deepStrictEqual(await f.store.deactivateAllForUser(f.user(), ALL), []);
      });
    });

    api.describe('refsForUser', () => {
      it('returns the user’s active sessions whatever their expiry, and nothing else', async (f) => {
        const user = f.user();
        const a = await f.insert(user, { expireAt: null });
        const expired = await f.insert(user, { expireAt: at(-DAY) });
        await f.insert(user, { isActive: false, detail: LOGOUT.detail, endReason: LOGOUT.reason });
        await f.insert(f.user());
        assertSameRefs(await f.store.refsForUser(user), [a, expired]);
        assert.deepStrictEqual(await f.store.refsForUser(f.user()), []);
      });
    });

    api.describe('refreshJti and rotateRefreshJti', () => {
      it('refreshJti round-trips: null and a 32-hex value', async (f) => {
        const none = await f.insert(f.user(), { refreshJti: null });
        const jti = randomBytes(16).toString('hex');
        const some = await f.insert(f.user(), { refreshJti: jti });
        assert.deepStrictEqual(await f.get(none.id), none);
        assert.deepStrictEqual(await f.get(some.id), some);
        assert.deepStrictEqual(await f.store.findByKeyHash(some.keyHash), some);
        assert.equal((await f.get(some.id)).refreshJti, jti);
      });

      it('rotates once: the presented jti is replaced and nothing else changes', async (f) => {
        const [old, next] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
        const session = await f.insert(f.user(), { refreshJti: old });
        const other = await f.insert(f.user(), { refreshJti: old });
        assert.equal(await f.store.rotateRefreshJti(session.id, old, next), true);
        assert.deepStrictEqual(await f.get(session.id), { ...session, refreshJti: next });
        assert.deepStrictEqual(await f.get(other.id), other);
      });

      it('refuses a stale jti: the one already rotated away, or one never issued', async (f) => {
        const [old, next, third] = [randomBytes(16).toString('hex'), randomBytes(16).toString('hex'), randomBytes(16).toString('hex')];
        const session = await f.insert(f.user(), { refreshJti: old });
        assert.equal(await f.store.rotateRefreshJti(session.id, old, next), true);
        assert.equal(await f.store.rotateRefreshJti(session.id, old, third), false);
        assert.equal(await f.store.rotateRefreshJti(session.id, randomBytes(16).toString('hex'), third), false);
        assert.equal((await f.get(session.id)).refreshJti, next);
      });

      it('refuses an inactive session (with or without refreshJti), unknown and malformed ids', async (f) => {
        const jti = randomBytes(16).toString('hex');
        const ended = await f.insert(f.user(), { refreshJti: jti, isActive: false, detail: 'Logged out.' });
        const endedNone = await f.insert(f.user(), { refreshJti: null, isActive: false, detail: 'Logged out.' });
        assert.equal(await f.store.rotateRefreshJti(ended.id, jti, 'next'), false);
        assert.deepStrictEqual(await f.get(ended.id), ended);
        assert.equal(await f.store.rotateRefreshJti(endedNone.id, jti, 'next'), false);
        assert.deepStrictEqual(await f.get(endedNone.id), endedNone);
        assert.equal(await f.store.rotateRefreshJti(randomUUID(), jti, 'next'), false);
        for (const id of ['', 'not-a-uuid', "' or '1'='1", `${ended.id}0`]) {
          assert.equal(await f.store.rotateRefreshJti(id, jti, 'next'), false, `rotateRefreshJti(${JSON.stringify(id)})`);
        }
      });

      it('a session without refreshJti adopts the first jti presented; then only the new one rotates', async (f) => {
        // Refresh tokens issued before rotation (the Python original's, or while it was off).
        const [presented, next, other] = [
          randomBytes(16).toString('hex'),
          randomBytes(16).toString('hex'),
          randomBytes(16).toString('hex'),
        ];
        const session = await f.insert(f.user(), { refreshJti: null });
        assert.equal(await f.store.rotateRefreshJti(session.id, presented, next), true);
        assert.deepStrictEqual(await f.get(session.id), { ...session, refreshJti: next });
        assert.equal(await f.store.rotateRefreshJti(session.id, presented, other), false);
        assert.equal(await f.store.rotateRefreshJti(session.id, other, other), false);
        assert.equal((await f.get(session.id)).refreshJti, next);
      });

      it('of 20 concurrent adoptions of a session without refreshJti, exactly one succeeds', async (f) => {
        const session = await f.insert(f.user(), { refreshJti: null });
        // Half present the same pre-rotation jti, half others: one winner whatever they present.
        const shared = randomBytes(16).toString('hex');
        const calls = Array.from({ length: 20 }, (_, i) => ({
          presented: i % 2 === 0 ? shared : randomBytes(16).toString('hex'),
          next: randomBytes(16).toString('hex'),
        }));
        const results = await Promise.all(calls.map((c) => f.store.rotateRefreshJti(session.id, c.presented, c.next)));
        assert.equal(results.filter(Boolean).length, 1, `succeeded: ${results.filter(Boolean).length}`);
        assert.equal((await f.get(session.id)).refreshJti, calls[results.indexOf(true)]?.next);
      });

      it('of 20 concurrent rotations presenting the same jti, exactly one succeeds', async (f) => {
        const old = randomBytes(16).toString('hex');
        const session = await f.insert(f.user(), { refreshJti: old });
        const candidates = Array.from({ length: 20 }, () => randomBytes(16).toString('hex'));
        const results = await Promise.all(candidates.map((next) => f.store.rotateRefreshJti(session.id, old, next)));
        assert.equal(results.filter(Boolean).length, 1, `succeeded: ${results.filter(Boolean).length}`);
        const winner = candidates[results.indexOf(true)];
        assert.equal((await f.get(session.id)).refreshJti, winner);
      });
    });

    api.describe('deleteExpired', () => {
      it('deletes sessions expired at or before `before`, active or not, and returns them', async (f) => {
        const user = f.user();
        const before = at(DAY);
        const past = await f.insert(user, { expireAt: at(DAY - 1) });
        const exactly = await f.insert(user, { expireAt: before });
        const endedAndExpired = await f.insert(user, { expireAt: at(1), isActive: false, detail: 'Logged out.' });
        const future = await f.insert(user, { expireAt: at(DAY + 0.001) });
        const never = await f.insert(user, { expireAt: null });
        const endedNotExpired = await f.insert(user, {
          isActive: false,
          detail: LOGOUT.detail,
          endReason: LOGOUT.reason,
          lastOnline: at(-DAY),
        });
        const refs = await f.store.deleteExpired({ before, limit: 100 });
        assertSameRefs(refs, [past, exactly, endedAndExpired]);
        for (const gone of [past, exactly, endedAndExpired]) {
          assert.equal(await f.store.findById(gone.id), undefined);
          assert.equal(await f.store.findByKeyHash(gone.keyHash), undefined);
        }
        for (const kept of [future, never, endedNotExpired]) assert.deepStrictEqual(await f.get(kept.id), kept);
      });

      it('deletes at most `limit` sessions per call', async (f) => {
        const user = f.user();
        const expired: SessionRecord[] = [];
        for (let i = 0; i < 5; i++) expired.push(await f.insert(user, { expireAt: at(i) }));
        const kept = await f.insert(user, { expireAt: null });
        const batches: SessionRef[][] = [];
        for (let call = 0; call < 4; call++) batches.push(await f.store.deleteExpired({ before: at(DAY), limit: 2 }));
        assert.deepStrictEqual(
          batches.map((b) => b.length),
          [2, 2, 1, 0],
        );
        assertSameRefs(batches.flat(), expired);
        assert.deepStrictEqual(await f.get(kept.id), kept);
      });

      it('with inactiveBefore, also deletes inactive sessions last online at or before it', async (f) => {
        const user = f.user();
        const before = at(DAY);
        const inactiveBefore = at(-DAY);
        const oldEnded = await f.insert(user, {
          isActive: false,
          detail: LOGOUT.detail,
          endReason: LOGOUT.reason,
          lastOnline: at(-2 * DAY),
          expireAt: null,
        });
        const endedAtCutoff = await f.insert(user, {
          isActive: false,
          detail: LOGOUT.detail,
          endReason: LOGOUT.reason,
          lastOnline: inactiveBefore,
        });
        const recentEnded = await f.insert(user, {
          isActive: false,
          detail: LOGOUT.detail,
          endReason: LOGOUT.reason,
          lastOnline: at(-DAY + 0.001),
        });
        const oldActive = await f.insert(user, { lastOnline: at(-30 * DAY), expireAt: null });
        const oldActiveExpiring = await f.insert(user, { lastOnline: at(-30 * DAY), expireAt: at(2 * DAY) });
        const refs = await f.store.deleteExpired({ before, inactiveBefore, limit: 100 });
        assertSameRefs(refs, [oldEnded, endedAtCutoff]);
        for (const kept of [recentEnded, oldActive, oldActiveExpiring]) assert.deepStrictEqual(await f.get(kept.id), kept);
      });

      it('never deletes an active session that has not expired', async (f) => {
        const user = f.user();
        const sessions: SessionRecord[] = [];
        for (let i = 0; i < 10; i++) {
          sessions.push(await f.insert(user, { lastOnline: at(-365 * DAY), expireAt: i % 2 === 0 ? null : at(DAY + i) }));
        }
        assert.deepStrictEqual(await f.store.deleteExpired({ before: at(DAY), inactiveBefore: at(DAY), limit: 100 }), []);
        assert.equal((await f.store.listActive(user, at(DAY))).length, 10);
      });
    });
  });
}
