// Database writes at steady state: many sessions making requests for many minutes of simulated
// time (an injected clock), against the real PostgreSQL store. The touch buffer's flush timer is
// replaced by a flush every simulated second (its default interval), so the writes counted are
// exactly those the library would send.
import { MemorySessionCache } from '../src/cache/memory-session-cache.js';
import type { SessionStore } from '../src/core/session-store.js';
import { openBenchDatabase, USER_AGENT } from './environment.js';
import type { BenchOptions } from './options.js';
import type { WritesResults } from './results.js';
import { benchManager, wrapStore } from './session-stack.js';

/** A store that records every `last_online` row write, by session, at simulated time. */
function recordingStore(inner: SessionStore, now: () => number): { store: SessionStore; touches: Map<string, number[]> } {
  const touches = new Map<string, number[]>();
  const store = wrapStore(inner, {
    touch: (entries) => {
      for (const e of entries) {
        const list = touches.get(e.id) ?? [];
        list.push(now());
        touches.set(e.id, list);
      }
      return inner.touch(entries);
    },
  });
  return { store, touches };
}

export async function runWrites(options: BenchOptions, log: (line: string) => void): Promise<WritesResults> {
  const sessions = options.quick ? 50 : 200;
  const perSecond = 2;
  const simulatedSeconds = options.quick ? 5 * 60 : 20 * 60;
  const database = await openBenchDatabase('postgres', { label: 'writes' });
  try {
    let clock = Date.now();
    const now = () => clock;
    const { store, touches } = recordingStore(database.store, now);
    const cache = new MemorySessionCache({ clock: now });
    const manager = benchManager(store, cache, { clock: now, touchFlushIntervalMs: 3_600_000 });
    const touchIntervalSeconds = manager.config.touchIntervalSeconds;
    const flushIntervalSeconds = 1;

    // Logins spread over one touch interval, as real sessions start at different times.
    const tokens: string[] = [];
    const spacing = (touchIntervalSeconds * 1000) / sessions;
    for (let i = 0; i < sessions; i++) {
      tokens.push((await manager.createSession({ userId: i + 1, ip: '127.0.0.1', userAgent: USER_AGENT })).token);
      clock += spacing;
    }
    const start = clock;
    const facts = { ip: '127.0.0.1', userAgent: USER_AGENT };
    const before = database.counter.snapshot();
    let requests = 0;
    for (let second = 0; second < simulatedSeconds; second++) {
      for (let k = 0; k < perSecond; k++) {
        clock = start + second * 1000 + (k * 1000) / perSecond;
        for (const token of tokens) {
          const outcome = await manager.authenticate(`Token ${token}`, facts);
          if (outcome?.ok !== true) throw new Error('writes: authentication failed');
          requests++;
        }
      }
      clock = start + (second + 1) * 1000;
      await manager.flush();
    }
    await manager.close();
    const after = database.counter.snapshot();

    // Row writes per session per touch interval (fixed windows from the start), and the lag.
    const windowMs = touchIntervalSeconds * 1000;
    let maxPerWindow = 0;
    let rowWrites = 0;
    for (const times of touches.values()) {
      rowWrites += times.length;
      const perWindow = new Map<number, number>();
      for (const t of times) {
        const w = Math.floor((t - start) / windowMs);
        const count = (perWindow.get(w) ?? 0) + 1;
        perWindow.set(w, count);
        maxPerWindow = Math.max(maxPerWindow, count);
      }
    }
    let maxLag = 0;
    for (let user = 1; user <= sessions; user++) {
      const [row] = await database.store.listActive(user, new Date(clock));
      if (row !== undefined) maxLag = Math.max(maxLag, (clock - row.lastOnline.getTime()) / 1000);
    }
    const writeStatements = after.writes - before.writes;
    const statements = after.queries - before.queries;
    const intervals = simulatedSeconds / touchIntervalSeconds;
    const result: WritesResults = {
      store: 'PostgreSQL',
      sessions,
      requests,
      requestsPerSessionPerSecond: perSecond,
      simulatedSeconds,
      touchIntervalSeconds,
      flushIntervalSeconds,
      writeStatements,
      statements,
      rowWrites,
      writeStatementsPer1000Requests: (writeStatements / requests) * 1000,
      rowWritesPer1000Requests: (rowWrites / requests) * 1000,
      maxRowWritesPerSessionPerInterval: maxPerWindow,
      meanRowWritesPerSessionPerInterval: rowWrites / (sessions * intervals),
      maxLastOnlineLagSeconds: maxLag,
    };
    log(
      `  ${requests} requests from ${sessions} sessions over ${simulatedSeconds / 60} simulated minutes: ` +
        `${writeStatements} write statements (${result.writeStatementsPer1000Requests.toFixed(2)} per 1000 requests), ` +
        `${rowWrites} row writes, at most ${maxPerWindow} per session per ${touchIntervalSeconds} s`,
    );
    return result;
  } finally {
    await database.close();
  }
}
