// Counting the statements a store sends to a real database.
//
//   const counted = countQueries(database);          // a store over the same table and pool
//   const manager = new SessionManager({ store: counted.store, … });
//   counted.reset();
//   … requests …
//   expect(counted.statements).toEqual([]);          // the SQL of every statement that ran
//
// It is a Kysely plugin on a copy of the test database's Kysely instance (`withPlugin`), so it
// sees every statement the store builds, raw `sql` included, on every dialect, through the same
// connection pool. A statement counts once it has run (in `transformResult`); the transaction
// statements a driver adds by itself (BEGIN, COMMIT on MySQL) are not seen.
import type {
  Kysely,
  KyselyPlugin,
  PluginTransformQueryArgs,
  PluginTransformResultArgs,
  QueryResult,
  RootOperationNode,
  UnknownRow,
} from 'kysely';
import { KyselySessionStore } from '../../src/store/kysely-session-store.js';
import type { SessionDatabase } from '../../src/store/session-table.js';
import type { TestDatabase } from './databases.js';

/** What a counted store has sent so far. */
export interface QueryCounter {
  /** A store over the test database's table whose statements are counted. */
  readonly store: KyselySessionStore;
  /** The Kysely instance behind {@link QueryCounter.store} (same pool as the test database). */
  readonly db: Kysely<SessionDatabase>;
  /** The SQL of every statement that ran since the last {@link QueryCounter.reset}, in order. */
  readonly statements: readonly string[];
  /** How many statements ran since the last reset. */
  readonly count: number;
  /** The statements whose SQL starts with (or, for a CTE, contains) an UPDATE. */
  readonly writes: readonly string[];
  reset(): void;
}

class CountingPlugin implements KyselyPlugin {
  readonly statements: string[] = [];
  // Subqueries pass through transformQuery with their own id and never reach transformResult:
  // only the root statement's id comes back, so each executed statement is counted once.
  readonly #nodes = new WeakMap<object, RootOperationNode>();

  constructor(readonly compile: (node: RootOperationNode, queryId: PluginTransformQueryArgs['queryId']) => string) {}

  transformQuery(args: PluginTransformQueryArgs): RootOperationNode {
    this.#nodes.set(args.queryId, args.node);
    return args.node;
  }

  async transformResult(args: PluginTransformResultArgs): Promise<QueryResult<UnknownRow>> {
    const node = this.#nodes.get(args.queryId);
    this.statements.push(node === undefined ? '<unknown>' : this.compile(node, args.queryId));
    return args.result;
  }
}

/** A store over `database`'s table whose every statement is recorded. */
export function countQueries(database: TestDatabase): QueryCounter {
  const executor = database.db.getExecutor();
  const plugin = new CountingPlugin((node, queryId) => executor.compileQuery(node, queryId).sql.replace(/\s+/g, ' ').trim());
  const db = database.db.withPlugin(plugin);
  const store = new KyselySessionStore({ db, dialect: database.dialect, tableName: database.tableName, userIdType: database.userIdType });
  const isWrite = (s: string) => /^(update|with\b.*\bupdate\b|insert|delete)/i.test(s);
  return {
    store,
    db,
    get statements() {
      return [...plugin.statements];
    },
    get count() {
      return plugin.statements.length;
    },
    get writes() {
      return plugin.statements.filter(isWrite);
    },
    reset() {
      plugin.statements.length = 0;
    },
  };
}
