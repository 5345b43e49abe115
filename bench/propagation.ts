// Revocation propagation: instance A (this process) revokes sessions that instance B (another
// process, bench/propagation-peer.ts) holds in its in-process tier; how long until B drops them?
// Both use createRedisSessionCache on one namespace and one PostgreSQL table.
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { deleteNamespace, openBenchDatabase, USER_AGENT, uniqueNamespace } from './environment.js';
import type { BenchOptions } from './options.js';
import type { PeerReply, PeerRequest } from './propagation-peer.js';
import type { PropagationResults } from './results.js';
import { benchManager, openBenchCache, wrapStore } from './session-stack.js';
import { summarize } from './stats.js';

const PEER_ENTRY = fileURLToPath(new URL('./propagation-peer.ts', import.meta.url));

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes of one machine. */
function wallNow(): number {
  return performance.timeOrigin + performance.now();
}

export async function runPropagation(options: BenchOptions, log: (line: string) => void): Promise<PropagationResults> {
  const count = options.quick ? 200 : 1000;
  const database = await openBenchDatabase('postgres', { label: 'propagation' });
  const namespace = uniqueNamespace('propagation');
  const cache = await openBenchCache('tiered', namespace);
  // Records when the store write of each revocation ended (the invalidation is published next).
  let storeDoneAt = 0;
  const store = wrapStore(database.store, {
    deactivate: async (ids, detail, opts) => {
      const refs = await database.store.deactivate(ids, detail, opts);
      storeDoneAt = wallNow();
      return refs;
    },
  });
  const manager = benchManager(store, cache.cache);
  const peer = fork(PEER_ENTRY, [JSON.stringify({ tableName: database.tableName, namespace })], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<string, (reply: Extract<PeerReply, { type: 'revoked' }>) => void>();
  let onOther: ((reply: PeerReply) => void) | undefined;
  peer.on('message', (reply: PeerReply) => {
    if (reply.type === 'revoked') waiting.get(reply.id)?.(reply);
    else onOther?.(reply);
  });
  const next = (type: PeerReply['type']) =>
    new Promise<PeerReply>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`propagation peer: no "${type}"`)), 120_000);
      onOther = (reply) => {
        if (reply.type !== type) return;
        clearTimeout(timer);
        resolve(reply);
      };
    });
  try {
    await next('ready');
    const sessions: Array<{ id: string; token: string }> = [];
    for (let i = 0; i < count; i++) {
      const { token, session } = await manager.createSession({ userId: i + 1, ip: '127.0.0.1', userAgent: USER_AGENT });
      sessions.push({ id: session.id, token });
    }
    const warmed = next('warmed');
    peer.send({ type: 'warm', sessions } satisfies PeerRequest);
    const w = await warmed;
    if (w.type !== 'warmed' || w.cachedLocally !== count) throw new Error(`propagation: peer cached ${JSON.stringify(w)} of ${count}`);

    const endToEnd: number[] = [];
    const afterStore: number[] = [];
    let acceptedAfterRevoke = 0;
    let servedLocally = 0;
    for (const s of sessions) {
      const arrived = new Promise<Extract<PeerReply, { type: 'revoked' }> | undefined>((resolve) => {
        const timer = setTimeout(() => resolve(undefined), 2000);
        waiting.set(s.id, (reply) => {
          clearTimeout(timer);
          resolve(reply);
        });
      });
      const started = wallNow();
      if (!(await manager.revokeSession(s.id, 'admin'))) throw new Error('propagation: revoke did nothing');
      const reply = await arrived;
      waiting.delete(s.id);
      if (reply === undefined) continue;
      endToEnd.push(reply.at - started);
      afterStore.push(reply.at - storeDoneAt);
      if (reply.acceptedAfter) acceptedAfterRevoke++;
      if (reply.servedLocally) servedLocally++;
    }
    const e = summarize(endToEnd);
    const a = summarize(afterStore);
    const result: PropagationResults = {
      revocations: count,
      received: endToEnd.length,
      endToEnd: { p50Ms: e.p50Ms, p99Ms: e.p99Ms, maxMs: e.maxMs },
      afterStoreWrite: { p50Ms: a.p50Ms, p99Ms: a.p99Ms, maxMs: a.maxMs },
      acceptedAfterRevoke: acceptedAfterRevoke + servedLocally,
    };
    log(
      `  ${endToEnd.length}/${count} revocations reached the other process: p50 ${e.p50Ms.toFixed(2)} ms, p99 ${e.p99Ms.toFixed(2)} ms ` +
        `(after the database write: p50 ${a.p50Ms.toFixed(2)} ms, p99 ${a.p99Ms.toFixed(2)} ms); accepted afterwards: ${result.acceptedAfterRevoke}`,
    );
    return result;
  } finally {
    if (peer.exitCode === null) {
      const exited = new Promise<void>((resolve) => peer.once('exit', () => resolve()));
      peer.send({ type: 'close' } satisfies PeerRequest);
      const timer = setTimeout(() => peer.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    await manager.close();
    await cache.close();
    await deleteNamespace(namespace);
    await database.close();
  }
}
