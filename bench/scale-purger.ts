// A purge in a process of its own, as `nilva-session purge` runs it (connectDatabase, a
// KyselySessionStore, a SessionManager without a cache, purgeExpired), with each batch timed.
// Started by bench/scale.ts: `node --import tsx bench/scale-purger.ts '<json PurgerArgs>'`.
// Prints one JSON line when the purge starts and one when it is done.
import { SessionManager } from '../src/core/session-manager.js';
import { connectDatabase } from '../src/store/connect.js';
import { KyselySessionStore } from '../src/store/kysely-session-store.js';

export interface PurgerArgs {
  readonly url: string;
  readonly table: string;
  readonly batchSize: number;
  /** purgeExpired's pause between batches. */
  readonly pauseMs: number;
  /** Purge only what expired at least this long ago (the manager's clock set back), to split one backlog between runs. */
  readonly olderThanSeconds?: number | undefined;
}

export type PurgerMessage =
  | { readonly event: 'start' }
  | { readonly event: 'done'; readonly deleted: number; readonly batches: number; readonly seconds: number; readonly batchMs: number[] };

const args = JSON.parse(process.argv[2] ?? '{}') as PurgerArgs;
const database = await connectDatabase(args.url);
const say = (message: PurgerMessage) => process.stdout.write(`${JSON.stringify(message)}\n`);
try {
  const store = new KyselySessionStore({ db: database.db, dialect: database.dialect, tableName: args.table });
  const batchMs: number[] = [];
  // Times every batch statement; the store itself is unchanged (its private fields need it as `this`).
  const timed = new Proxy(store, {
    get(target, name) {
      const value = Reflect.get(target, name, target) as unknown;
      if (name === 'deleteExpired') {
        return async (options: Parameters<KyselySessionStore['deleteExpired']>[0]) => {
          const t0 = performance.now();
          const refs = await target.deleteExpired(options);
          batchMs.push(performance.now() - t0);
          return refs;
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  const offsetMs = (args.olderThanSeconds ?? 0) * 1000;
  const manager = new SessionManager(offsetMs === 0 ? { store: timed } : { store: timed, clock: () => Date.now() - offsetMs });
  await manager.ready();
  say({ event: 'start' });
  const t0 = performance.now();
  const result = await manager.purgeExpired({ batchSize: args.batchSize, pauseMs: args.pauseMs });
  const seconds = (performance.now() - t0) / 1000;
  await manager.close();
  say({ event: 'done', deleted: result.deleted, batches: result.batches, seconds, batchMs });
} finally {
  await database.close();
}
