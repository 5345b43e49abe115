// The second instance of the propagation part: a process of its own with its own two-tier cache
// on the same PostgreSQL table and Redis namespace. It authenticates the sessions it is given
// (so they sit in its in-process tier), then reports when each revocation reaches it, and
// whether it still accepted the session after that.
//
//   node --import tsx bench/propagation-peer.ts '{"tableName":…,"namespace":…}'
import { openBenchDatabase, USER_AGENT } from './environment.js';
import { benchManager, openBenchCache } from './session-stack.js';

export type PeerRequest =
  | { readonly type: 'warm'; readonly sessions: ReadonlyArray<{ readonly id: string; readonly token: string }> }
  | { readonly type: 'close' };

export type PeerReply =
  | { readonly type: 'ready' }
  | { readonly type: 'warmed'; readonly cachedLocally: number }
  /** `at`: `performance.timeOrigin + performance.now()` when the invalidation arrived. */
  | {
      readonly type: 'revoked';
      readonly id: string;
      readonly at: number;
      readonly acceptedAfter: boolean;
      readonly servedLocally: boolean;
    };

const { tableName, namespace } = JSON.parse(process.argv[2] ?? '{}') as { tableName: string; namespace: string };
const database = await openBenchDatabase('postgres', { tableName });
const cache = await openBenchCache('tiered', namespace);
const manager = benchManager(database.store, cache.cache);
const tiered = cache.tiered;
if (tiered === undefined) throw new Error('no two-tier cache');
const facts = { ip: '127.0.0.1', userAgent: USER_AGENT };
const tokens = new Map<string, string>();

function reply(message: PeerReply): void {
  process.send?.(message, undefined, {}, () => undefined);
}

process.on('disconnect', () => process.exit(0));

// Subscribed after the two-tier cache itself, so its tier is already cleared when this runs.
tiered.remote.subscribe((event) => {
  if (event.type !== 'invalidate') return;
  const at = performance.timeOrigin + performance.now();
  for (const ref of event.refs) {
    const token = tokens.get(ref.id);
    if (token === undefined) continue;
    const outcome = manager.authenticate(`Token ${token}`, facts);
    const servedLocally = !(outcome instanceof Promise);
    void Promise.resolve(outcome).then((o) => reply({ type: 'revoked', id: ref.id, at, acceptedAfter: o?.ok === true, servedLocally }));
  }
});

process.on('message', (message: PeerRequest) => {
  if (message.type === 'warm') {
    void (async () => {
      let cachedLocally = 0;
      for (const s of message.sessions) {
        tokens.set(s.id, s.token);
        const first = await manager.authenticate(`Token ${s.token}`, facts);
        if (first?.ok !== true) throw new Error('peer: a session was refused while warming');
        if (!(manager.authenticate(`Token ${s.token}`, facts) instanceof Promise)) cachedLocally++;
      }
      reply({ type: 'warmed', cachedLocally });
    })();
  } else {
    void (async () => {
      await manager.close();
      await cache.close();
      await database.close();
      process.exit(0);
    })();
  }
});
reply({ type: 'ready' });
