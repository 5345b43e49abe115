// One app instance of the soak (bench/soak.ts starts two, each in its own process), built as an
// application would build it with the defaults: SessionManager over the PostgreSQL store and
// createRedisSessionCache, SessionApi with its sign-in throttle, on Fastify over HTTP, with JWT
// pairs. It reports its own memory over IPC when asked, after a full GC (the process runs with
// --expose-gc) so that the soak's heap figures are live objects, not garbage not yet collected.
//
//   fork('bench/soak-instance.ts', ['<InstanceSpec JSON>'], { execArgv: ['--expose-gc', '--import', 'tsx'] })
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';
import { nilvaFastify, nilvaFastifyRoutes } from 'nilva-session/fastify';
import { SessionApi } from 'nilva-session/http';
import { createRedisSessionCache } from '../src/cache/create-redis-session-cache.js';
import { SessionManager } from '../src/core/session-manager.js';
import { BENCH_SIGNING_KEY, type BenchUser, benchLoadUser, openBenchDatabase, REDIS_URL } from './environment.js';
import { type InstanceSpec, LOCAL_MAX, type SoakInstanceMessage, type SoakParentMessage, soakPassword } from './soak-protocol.js';

function tell(message: SoakInstanceMessage): void {
  process.send?.(message, undefined, {}, () => undefined);
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2] ?? '{}') as InstanceSpec;
  let warnings = 0;
  const logger = {
    warn: (message: string) => {
      warnings++;
      process.stderr.write(`[${spec.name}] ${message}\n`);
    },
    error: (message: string) => {
      warnings++;
      process.stderr.write(`[${spec.name}] ${message}\n`);
    },
    info: () => undefined,
  };
  const database = await openBenchDatabase('postgres', { tableName: spec.tableName });
  const cache = await createRedisSessionCache({ url: REDIS_URL, namespace: spec.namespace, localMax: LOCAL_MAX, logger });
  const manager = new SessionManager<BenchUser>({
    store: database.store,
    cache,
    loadUser: benchLoadUser,
    jwt: { signingKey: BENCH_SIGNING_KEY },
    logger,
  });
  await manager.ready();
  const api = new SessionApi({
    manager,
    verifyCredentials: (username: string, password: string) => {
      const id = Number(username.slice(4));
      return username.startsWith('user') && Number.isInteger(id) && id > 0 && password === soakPassword(id) ? id : null;
    },
    logger,
  });
  const app = Fastify();
  await app.register(nilvaFastify, { api });
  await app.register(nilvaFastifyRoutes, { api, prefix: '/api' });
  app.get('/api/me', { preHandler: app.nilvaRequireAuth }, async (request) => ({ user: request.nilva?.user }));
  await app.listen({ port: 0, host: '127.0.0.1' });

  process.on('message', async (message: SoakParentMessage) => {
    if (message.type === 'stats') {
      const before = process.memoryUsage();
      globalThis.gc?.();
      const after = process.memoryUsage();
      const cpu = process.cpuUsage();
      const localSize = cache.local.size;
      let tierBytes: number | undefined;
      if (message.dropTier === true) {
        cache.local.clear();
        globalThis.gc?.();
        tierBytes = after.heapUsed - process.memoryUsage().heapUsed;
      }
      tell({
        type: 'stats',
        id: message.id,
        rss: before.rss,
        heapUsed: before.heapUsed,
        heapTotal: before.heapTotal,
        external: before.external,
        heapAfterGc: after.heapUsed,
        localSize,
        localMax: LOCAL_MAX,
        tierBytes,
        cpuUser: cpu.user,
        cpuSystem: cpu.system,
        warnings,
      });
    } else if (message.type === 'stop') {
      try {
        await app.close();
        await manager.close();
        await cache.close();
        await database.close();
      } finally {
        tell({ type: 'stopped' });
        process.disconnect?.();
      }
    }
  });
  // The soak is gone (interrupted): nothing else would end this process.
  process.on('disconnect', () => process.exit(0));
  tell({ type: 'ready', port: (app.server.address() as AddressInfo).port });
}

await main();
