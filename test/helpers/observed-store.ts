// A SessionStore that hands every call to a real store (a KyselySessionStore on a real database)
// and lets a test watch or pace it: it records the touches the core writes, and it can hold a
// lookup after the real read returned, to put a revocation exactly between a cache miss's read
// and its fill. Nothing is simulated: every row comes from the database.
import type { SessionEnd, SessionRecord, SessionRef, UserId } from '../../src/core/session.js';
import type { InsertSecrets, SessionStore } from '../../src/core/session-store.js';

/** A lookup held after its real read: the row it read, and the way to let it go on. */
export interface HeldRead {
  /** Resolves with what the real store returned, once it has. */
  readonly read: Promise<SessionRecord | undefined>;
  /** Lets the held lookup return its row to the core. */
  release(): void;
}

export class ObservedStore implements SessionStore {
  /** Every `{ id, lastOnline }` the core asked to write, in order (one entry per session per batch). */
  readonly touched: Array<{ readonly id: string; readonly lastOnline: Date }> = [];
  /** How many `touch` calls (batches) were made. */
  touchBatches = 0;
  #held: { resolveRead(row: SessionRecord | undefined): void; gate: Promise<void> } | undefined;

  /** The real store's, when it has one: the core then takes the same path as with the real store. */
  readonly insertWithinLimit?: NonNullable<SessionStore['insertWithinLimit']>;

  constructor(readonly inner: SessionStore) {
    const limited = inner.insertWithinLimit?.bind(inner);
    if (limited !== undefined) this.insertWithinLimit = limited;
  }

  /** The next `findByKeyHash` or `findById` reads its row, then waits for `release()`. */
  holdNextRead(): HeldRead {
    let resolveRead!: (row: SessionRecord | undefined) => void;
    let release!: () => void;
    const read = new Promise<SessionRecord | undefined>((resolve) => {
      resolveRead = resolve;
    });
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.#held = { resolveRead, gate };
    return { read, release };
  }

  async #lookup(read: () => Promise<SessionRecord | undefined>): Promise<SessionRecord | undefined> {
    const held = this.#held;
    this.#held = undefined;
    const row = await read();
    if (held !== undefined) {
      held.resolveRead(row);
      await held.gate;
    }
    return row;
  }

  findByKeyHash(keyHash: string): Promise<SessionRecord | undefined> {
    return this.#lookup(() => this.inner.findByKeyHash(keyHash));
  }

  findById(id: string): Promise<SessionRecord | undefined> {
    return this.#lookup(() => this.inner.findById(id));
  }

  touch(entries: ReadonlyArray<{ readonly id: string; readonly lastOnline: Date }>): Promise<void> {
    this.touchBatches++;
    this.touched.push(...entries);
    return this.inner.touch(entries);
  }

  insert(session: SessionRecord, secrets?: InsertSecrets): Promise<void> {
    return this.inner.insert(session, secrets);
  }

  listActive(userId: UserId, now: Date): Promise<SessionRecord[]> {
    return this.inner.listActive(userId, now);
  }

  updateLastIp(id: string, lastIp: string): Promise<void> {
    return this.inner.updateLastIp(id, lastIp);
  }

  deactivate(ids: readonly string[], end: SessionEnd, options?: { readonly userId?: UserId }): Promise<SessionRef[]> {
    return this.inner.deactivate(ids, end, options);
  }

  deactivateAllForUser(userId: UserId, end: SessionEnd, options?: { readonly exceptId?: string }): Promise<SessionRef[]> {
    return this.inner.deactivateAllForUser(userId, end, options);
  }

  refsForUser(userId: UserId): Promise<SessionRef[]> {
    return this.inner.refsForUser(userId);
  }

  deleteExpired(options: { readonly before: Date; readonly inactiveBefore?: Date; readonly limit: number }): Promise<SessionRef[]> {
    return this.inner.deleteExpired(options);
  }

  rotateRefreshJti(id: string, presentedJti: string, newJti: string): Promise<boolean> {
    return this.inner.rotateRefreshJti(id, presentedJti, newJti);
  }
}
