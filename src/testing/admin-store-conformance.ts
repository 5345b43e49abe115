import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { SessionRecord, SessionRef, UserId } from '../core/session.js';
import type { AdminKeyset, AdminListQuery, AdminSortKey, SessionAdminStore, SortOrder } from '../core/session-admin-store.js';
import type { SessionStore } from '../core/session-store.js';
import type { ConformanceTestApi } from './store-conformance.js';

/** An admin store under test, over the same table as `store` (used to insert rows). */
export interface SessionAdminStoreHarness {
  readonly store: SessionStore;
  readonly adminStore: SessionAdminStore;
  /** `'string'` (default) or `'integer'`, as the stores take user ids. */
  readonly userIdType?: 'string' | 'integer' | undefined;
  cleanup(): Promise<void>;
}

/** Creates a fresh, empty pair of stores for one test. */
export type SessionAdminStoreFactory = () => Promise<SessionAdminStoreHarness>;

const T0 = Date.UTC(2026, 10, 27, 11, 12, 12, 750);
const at = (seconds: number): Date => new Date(T0 + Math.round(seconds * 1000));
const DAY = 86_400;
const NOW = at(10 * DAY);

class Fixture {
  readonly store: SessionStore;
  readonly admin: SessionAdminStore;
  readonly integerIds: boolean;
  #nextUser = 0;

  constructor(harness: SessionAdminStoreHarness) {
    this.store = harness.store;
    this.admin = harness.adminStore;
    this.integerIds = harness.userIdType === 'integer';
  }

  user(): UserId {
    this.#nextUser++;
    return this.integerIds ? 9000 + this.#nextUser : `admin-user-${this.#nextUser}`;
  }

  async insert(userId: UserId, fields: Partial<SessionRecord> = {}): Promise<SessionRecord> {
    const token = randomBytes(32).toString('hex');
    const session: SessionRecord = {
      id: randomUUID(),
      userId,
      keyHash: createHash('sha256').update(token).digest('hex'),
      keyPrefix: token.slice(0, 8),
      expireAt: at(30 * DAY),
      isActive: true,
      lastOnline: at(0),
      lastIp: '203.0.113.7',
      userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
      detail: null,
      endReason: null,
      createdAt: at(0),
      authenticatedAt: at(0),
      refreshJti: null,
      ...fields,
    };
    await this.store.insert(session);
    return session;
  }

  /** Reads every page of `query` forwards, checking each page's size and `hasMore`. */
  async walk(query: Omit<AdminListQuery, 'after' | 'before' | 'now'>): Promise<SessionRecord[][]> {
    const pages: SessionRecord[][] = [];
    let after: AdminKeyset | undefined;
    for (let guard = 0; guard < 1000; guard++) {
      const page = await this.admin.list({ ...query, now: NOW, ...(after === undefined ? {} : { after }) });
      pages.push(page.sessions);
      if (!page.hasMore) break;
      assert.equal(page.sessions.length, query.limit, 'a page followed by more is full');
      const last = page.sessions.at(-1) as SessionRecord;
      after = keyset(last, query.sort ?? 'created_at');
    }
    return pages;
  }
}

function keyset(session: SessionRecord, sort: AdminSortKey): AdminKeyset {
  const value = sort === 'created_at' ? session.createdAt : sort === 'last_online' ? session.lastOnline : session.expireAt;
  return { value, id: session.id };
}

/** The order the list must have: the sort column (`null` expire_at after every time), then id. */
function expectedOrder(sessions: readonly SessionRecord[], sort: AdminSortKey, order: SortOrder): SessionRecord[] {
  const value = (s: SessionRecord): number => {
    const v = sort === 'created_at' ? s.createdAt : sort === 'last_online' ? s.lastOnline : s.expireAt;
    return v === null ? Number.POSITIVE_INFINITY : v.getTime();
  };
  const sign = order === 'asc' ? 1 : -1;
  return [...sessions].sort((a, b) => {
    const [x, y] = [value(a), value(b)];
    if (x !== y) return sign * (x < y ? -1 : 1);
    return sign * (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  });
}

const ids = (sessions: readonly { readonly id: string }[]): string[] => sessions.map((s) => s.id);
const sortedIdsOf = (sessions: readonly { readonly id: string }[]): string[] => ids(sessions).sort();

function refOf(s: SessionRecord): SessionRef {
  return { id: s.id, keyHash: s.keyHash, userId: s.userId };
}

/**
 * Registers the conformance suite of {@link SessionAdminStore}: keyset pagination in every
 * sort and direction (ties and `NULL` expiries included), filters, the two editable fields,
 * deletion and the dashboard aggregates.
 */
export function defineSessionAdminStoreConformance(name: string, factory: SessionAdminStoreFactory, api: ConformanceTestApi): void {
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

  /** Eleven sessions with ties in every sort column and three that never expire. */
  async function seed(f: Fixture): Promise<SessionRecord[]> {
    const sessions: SessionRecord[] = [];
    for (let i = 0; i < 11; i++) {
      sessions.push(
        await f.insert(f.user(), {
          createdAt: at(Math.floor(i / 3)),
          lastOnline: at(100 + (i % 4)),
          expireAt: i % 4 === 3 ? null : at(DAY + (i % 3)),
        }),
      );
    }
    return sessions;
  }

  api.describe(`${name}: SessionAdminStore conformance`, () => {
    api.describe('list: keyset pagination', () => {
      for (const sort of ['created_at', 'last_online', 'expire_at'] as const) {
        for (const order of ['asc', 'desc'] as const) {
          it(`sorted by ${sort} ${order}: pages of 3 walk every row once, in order, ties broken by id`, async (f) => {
            const sessions = await seed(f);
            const pages = await f.walk({ sort, order, limit: 3 });
            assert.deepStrictEqual(
              pages.map((p) => p.length),
              [3, 3, 3, 2],
            );
            assert.deepStrictEqual(pages.flat(), expectedOrder(sessions, sort, order));
          });

          it(`sorted by ${sort} ${order}: "before" the first row of a page gives the page before it`, async (f) => {
            await seed(f);
            const pages = await f.walk({ sort, order, limit: 3 });
            for (let i = 1; i < pages.length; i++) {
              const first = (pages[i] as SessionRecord[])[0] as SessionRecord;
              const previous = await f.admin.list({ sort, order, limit: 3, now: NOW, before: keyset(first, sort) });
              assert.deepStrictEqual(ids(previous.sessions), ids(pages[i - 1] as SessionRecord[]), `page ${i - 1}`);
              assert.equal(previous.hasMore, i > 1, `hasMore before page ${i - 1}`);
            }
          });
        }
      }

      it('defaults to created_at, newest first', async (f) => {
        const sessions = await seed(f);
        const page = await f.admin.list({ limit: 100, now: NOW });
        assert.deepStrictEqual(page.sessions, expectedOrder(sessions, 'created_at', 'desc'));
        assert.equal(page.hasMore, false);
      });

      it('hasMore is false on an exactly full last page, and the list of an empty table is empty', async (f) => {
        assert.deepStrictEqual(await f.admin.list({ limit: 5, now: NOW }), { sessions: [], hasMore: false });
        for (let i = 0; i < 4; i++) await f.insert(f.user(), { createdAt: at(i) });
        assert.equal((await f.admin.list({ limit: 4, now: NOW })).hasMore, false);
        assert.equal((await f.admin.list({ limit: 3, now: NOW })).hasMore, true);
      });

      it('a cursor whose row was deleted still continues from its position', async (f) => {
        const sessions = await seed(f);
        const first = await f.admin.list({ sort: 'created_at', order: 'asc', limit: 4, now: NOW });
        const last = first.sessions.at(-1) as SessionRecord;
        await f.admin.delete([last.id]);
        const next = await f.admin.list({ sort: 'created_at', order: 'asc', limit: 100, now: NOW, after: keyset(last, 'created_at') });
        assert.deepStrictEqual(ids(next.sessions), ids(expectedOrder(sessions, 'created_at', 'asc').slice(4)));
      });

      it('a cursor with a malformed id, or a null value outside expire_at, matches nothing', async (f) => {
        await seed(f);
        assert.deepStrictEqual((await f.admin.list({ limit: 5, now: NOW, after: { value: at(0), id: 'not-a-uuid' } })).sessions, []);
        assert.deepStrictEqual((await f.admin.list({ limit: 5, now: NOW, after: { value: null, id: randomUUID() } })).sessions, []);
      });

      it('refuses a bad limit, and after together with before, with a TypeError', async (f) => {
        for (const limit of [0, -1, 1.5, 1001, Number.NaN]) {
          await assert.rejects(f.admin.list({ limit, now: NOW }), TypeError, `limit ${limit}`);
        }
        const k = { value: at(0), id: randomUUID() };
        await assert.rejects(f.admin.list({ limit: 5, now: NOW, after: k, before: k }), TypeError);
        await assert.rejects(f.admin.list({ limit: 5, now: NOW, sort: 'user_agent' as AdminSortKey }), TypeError);
      });
    });

    api.describe('list: filters', () => {
      it('status: active and inactive follow is_active; expired is expire_at at or before now', async (f) => {
        const user = f.user();
        const active = await f.insert(user);
        const inactive = await f.insert(user, { isActive: false, detail: 'Logged out.' });
        const expired = await f.insert(user, { expireAt: NOW });
        const expiredInactive = await f.insert(user, { expireAt: at(1), isActive: false, detail: 'Logged out.' });
        const never = await f.insert(user, { expireAt: null });
        const list = async (status: AdminListQuery['status']) =>
          sortedIdsOf((await f.admin.list({ status, limit: 100, now: NOW })).sessions);
        assert.deepStrictEqual(await list('active'), sortedIdsOf([active, expired, never]));
        assert.deepStrictEqual(await list('inactive'), sortedIdsOf([inactive, expiredInactive]));
        assert.deepStrictEqual(await list('expired'), sortedIdsOf([expired, expiredInactive]));
        assert.deepStrictEqual(await list('all'), sortedIdsOf([active, inactive, expired, expiredInactive, never]));
        assert.deepStrictEqual(await list(undefined), await list('all'));
      });

      it('userId: only that user, exactly; an id of the wrong type matches nothing', async (f) => {
        const user = f.user();
        const mine = [await f.insert(user), await f.insert(user, { isActive: false, detail: 'x' })];
        await f.insert(f.user());
        const page = await f.admin.list({ userId: user, limit: 100, now: NOW });
        assert.deepStrictEqual(sortedIdsOf(page.sessions), sortedIdsOf(mine));
        if (f.integerIds) assert.deepStrictEqual((await f.admin.list({ userId: 'alice', limit: 5, now: NOW })).sessions, []);
        else assert.deepStrictEqual((await f.admin.list({ userId: `${String(user)} `, limit: 5, now: NOW })).sessions, []);
      });

      it('ip is exact; ipPrefix matches the start of the address, case-insensitively', async (f) => {
        const user = f.user();
        const a = await f.insert(user, { lastIp: '203.0.113.7' });
        const b = await f.insert(user, { lastIp: '203.0.113.70' });
        const c = await f.insert(user, { lastIp: '2001:db8::1' });
        await f.insert(user, { lastIp: '198.51.100.1' });
        const list = async (q: Partial<AdminListQuery>) => sortedIdsOf((await f.admin.list({ ...q, limit: 100, now: NOW })).sessions);
        assert.deepStrictEqual(await list({ ip: '203.0.113.7' }), [a.id]);
        assert.deepStrictEqual(await list({ ipPrefix: '203.0.113.' }), sortedIdsOf([a, b]));
        assert.deepStrictEqual(await list({ ipPrefix: '2001:DB8:' }), [c.id]);
        assert.deepStrictEqual(await list({ ipPrefix: '203.0.113.7', userId: user }), sortedIdsOf([a, b]));
      });

      it('an ipPrefix with anything but address characters matches nothing (no LIKE wildcards)', async (f) => {
        await f.insert(f.user(), { lastIp: '203.0.113.7' });
        for (const ipPrefix of ['%', '_', '203%', "' or 1=1 --", '']) {
          assert.deepStrictEqual(
            (await f.admin.list({ ipPrefix, limit: 5, now: NOW })).sessions,
            [],
            `ipPrefix ${JSON.stringify(ipPrefix)}`,
          );
        }
      });

      it('filters combine with every sort and with pagination', async (f) => {
        const user = f.user();
        const mine: SessionRecord[] = [];
        for (let i = 0; i < 7; i++) {
          mine.push(await f.insert(user, { createdAt: at(i % 2), lastOnline: at(i), expireAt: i % 3 === 0 ? null : at(DAY + i) }));
          await f.insert(f.user(), { createdAt: at(i % 2) });
          await f.insert(user, { isActive: false, detail: 'Logged out.', createdAt: at(i) });
        }
        for (const sort of ['created_at', 'last_online', 'expire_at'] as const) {
          const pages = await f.walk({ status: 'active', userId: user, sort, order: 'asc', limit: 2 });
          assert.deepStrictEqual(ids(pages.flat()), ids(expectedOrder(mine, sort, 'asc')), sort);
        }
      });
    });

    api.describe('findById, update, delete', () => {
      it('findById: the session, undefined for unknown and malformed ids', async (f) => {
        const s = await f.insert(f.user());
        assert.deepStrictEqual(await f.admin.findById(s.id), s);
        assert.equal(await f.admin.findById(randomUUID()), undefined);
        assert.equal(await f.admin.findById("' or '1'='1"), undefined);
      });

      it('update changes only is_active (with end_reason) and detail, and reactivates', async (f) => {
        const s = await f.insert(f.user());
        const other = await f.insert(f.user());
        assert.deepStrictEqual(await f.admin.update(s.id, { isActive: false, detail: 'Stolen laptop.' }), refOf(s));
        assert.deepStrictEqual(await f.admin.findById(s.id), { ...s, isActive: false, detail: 'Stolen laptop.', endReason: 'admin' });
        assert.deepStrictEqual(await f.admin.update(s.id, { isActive: true }), refOf(s));
        assert.deepStrictEqual(await f.admin.findById(s.id), { ...s, isActive: true, detail: 'Stolen laptop.', endReason: null });
        assert.deepStrictEqual(await f.admin.update(s.id, { detail: null }), refOf(s));
        assert.deepStrictEqual(await f.admin.findById(s.id), s);
        assert.deepStrictEqual(await f.admin.update(s.id, {}), refOf(s));
        assert.deepStrictEqual(await f.admin.findById(other.id), other);
      });

      it('update of an unknown or malformed id is undefined and changes nothing', async (f) => {
        const s = await f.insert(f.user());
        assert.equal(await f.admin.update(randomUUID(), { isActive: false }), undefined);
        assert.equal(await f.admin.update('not-a-uuid', { isActive: false }), undefined);
        assert.deepStrictEqual(await f.admin.findById(s.id), s);
      });

      it('delete removes the sessions and returns them; unknown, malformed and repeated ids are ignored', async (f) => {
        const a = await f.insert(f.user());
        const b = await f.insert(f.user(), { isActive: false, detail: 'x' });
        const kept = await f.insert(f.user());
        const refs = await f.admin.delete([a.id, b.id, a.id.toUpperCase(), randomUUID(), 'not-a-uuid']);
        assert.deepStrictEqual(
          [...refs].sort((x, y) => (x.id < y.id ? -1 : 1)),
          [refOf(a), refOf(b)].sort((x, y) => (x.id < y.id ? -1 : 1)),
        );
        assert.equal(await f.admin.findById(a.id), undefined);
        assert.equal(await f.store.findByKeyHash(b.keyHash), undefined);
        assert.deepStrictEqual(await f.admin.findById(kept.id), kept);
        assert.deepStrictEqual(await f.admin.delete([]), []);
      });
    });

    api.describe('dashboard aggregates', () => {
      it('countActive counts active sessions not expired at now', async (f) => {
        const user = f.user();
        await f.insert(user);
        await f.insert(user, { expireAt: null });
        await f.insert(user, { expireAt: NOW });
        await f.insert(user, { isActive: false, detail: 'x' });
        assert.equal(await f.admin.countActive(NOW), 2);
      });

      it('loginsPerDay counts sessions created per UTC day in [since, until)', async (f) => {
        const user = f.user();
        const day = (iso: string) => new Date(iso);
        await f.insert(user, { createdAt: day('2026-11-01T00:00:00.000Z') });
        await f.insert(user, { createdAt: day('2026-11-01T23:59:59.999Z'), isActive: false, detail: 'x' });
        await f.insert(user, { createdAt: day('2026-11-03T12:00:00.000Z') });
        await f.insert(user, { createdAt: day('2026-10-31T23:59:59.999Z') });
        await f.insert(user, { createdAt: day('2026-11-04T00:00:00.000Z') });
        assert.deepStrictEqual(await f.admin.loginsPerDay(day('2026-11-01T00:00:00.000Z'), day('2026-11-04T00:00:00.000Z')), [
          { day: '2026-11-01', count: 2 },
          { day: '2026-11-03', count: 1 },
        ]);
      });

      it('topUserAgents groups active, unexpired sessions by exact User-Agent, most common first', async (f) => {
        const user = f.user();
        for (let i = 0; i < 3; i++) await f.insert(user, { userAgent: 'agent-b' });
        for (let i = 0; i < 2; i++) await f.insert(user, { userAgent: 'agent-a' });
        await f.insert(user, { userAgent: 'agent-c' });
        await f.insert(user, { userAgent: 'agent-z', isActive: false, detail: 'x' });
        await f.insert(user, { userAgent: 'agent-z', expireAt: at(1) });
        await f.insert(user, { userAgent: '' });
        assert.deepStrictEqual(await f.admin.topUserAgents(NOW, 3), [
          { userAgent: 'agent-b', count: 3 },
          { userAgent: 'agent-a', count: 2 },
          { userAgent: '', count: 1 },
        ]);
      });
    });
  });
}
