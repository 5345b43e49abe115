// Brute-force protection shared through Redis: two app instances (each its own SessionApi and
// its own node-redis client) count the same failures; a private redis-server is killed and
// paused to show that an outage neither opens the door nor turns sign-ins into 503s.
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient, createCluster } from '@redis/client';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { type ApiResponse, SessionApi, type SessionApiOptions } from 'nilva-session/http';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';
import {
  clusterTarget,
  deleteNamespace,
  listKeys,
  REDIS_CLUSTER_URLS,
  REDIS_URL,
  rawClient,
  startPrivateRedis,
  uniqueNamespace,
} from '../helpers/redis.js';
import { makeUsers, userCallbacks } from '../helpers/users.js';

const HERE = '203.0.113.7';

let database: TestDatabase;
let manager: SessionManager<unknown>;
const users = makeUsers();
const callbacks = userCallbacks(users);
const clients: Array<{ readonly isOpen: boolean; destroy(): void }> = [];

beforeAll(async () => {
  database = await openTestDatabase('sqlite', { userIdType: 'integer' });
  manager = new SessionManager({
    store: database.store,
    cache: new MemorySessionCache(),
    loadUser: callbacks.loadUser,
    logger: { warn: () => undefined },
  });
});
afterAll(async () => {
  for (const client of clients) if (client.isOpen) client.destroy();
  await manager.close();
  await database.close();
});

/** An application's own client, as the README sets it up. */
async function appClient(url: string) {
  const client = createClient({ url, disableOfflineQueue: true });
  client.on('error', () => undefined);
  clients.push(client);
  await client.connect();
  return client;
}

/** An application's own cluster client (Redis Cluster, ElastiCache cluster mode), as the README sets it up. */
async function appCluster(urls: readonly string[]) {
  const cluster = createCluster({ rootNodes: urls.map((url) => ({ url })), defaults: { disableOfflineQueue: true } });
  cluster.on('error', () => undefined);
  clients.push(cluster);
  await cluster.connect();
  return cluster;
}

/** One app instance: its own SessionApi on its own Redis client, and what it logs. */
function instance(throttle: NonNullable<SessionApiOptions<unknown>['throttle']>) {
  const warnings: string[] = [];
  const api = new SessionApi({
    manager,
    throttle,
    verifyCredentials: (username, password) => callbacks.verifyCredentials(username, password),
    logger: { warn: (message) => warnings.push(message) },
  });
  const login = async (username: string, password: string, ip = HERE): Promise<ApiResponse> => {
    const response = await api.handle({
      method: 'POST',
      path: 'login',
      query: new URLSearchParams(),
      authorization: undefined,
      userAgent: 'curl/8.5.0',
      remoteAddress: ip,
      forwardedFor: undefined,
      contentType: 'application/json',
      body: JSON.stringify({ username, password }),
    });
    if (response === undefined) throw new Error('no login route');
    return response;
  };
  return {
    warnings,
    right: (ip = HERE) => login('alice', 'alice-password', ip),
    wrong: (ip = HERE) => login('alice', 'guess', ip),
  };
}

function expectThrottled(response: ApiResponse, maxSeconds: number): void {
  expect(response.status).toBe(429);
  const seconds = Number(response.headers['retry-after']);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(maxSeconds);
  expect(JSON.parse(response.body ?? '')).toEqual({
    detail: `Request was throttled. Expected available in ${seconds} ${seconds === 1 ? 'second' : 'seconds'}.`,
  });
}

describe('two instances, one Redis', () => {
  const keyPrefix = uniqueNamespace('throttle');
  afterAll(() => deleteNamespace(keyPrefix));

  test('failures on A count on B, and the block holds on both', async () => {
    const limits = { ipUsername: { points: 3, durationSeconds: 60, blockSeconds: 60 }, keyPrefix: `${keyPrefix}a:` };
    const a = instance({ ...limits, redis: await appClient(REDIS_URL) });
    const b = instance({ ...limits, redis: await appClient(REDIS_URL) });
    expect((await a.wrong()).status).toBe(401);
    expect((await a.wrong()).status).toBe(401);
    expect((await b.wrong()).status).toBe(401);
    expectThrottled(await b.right(), 60);
    expectThrottled(await a.right(), 60);
    // A success elsewhere resets only its own address: and a success from B is seen by A.
    expect((await b.right('198.51.100.1')).status).toBe(200);
    expect(a.warnings).toEqual([]);
    expect(b.warnings).toEqual([]);
  });

  test('a device known on A is known on B: the per-account limit does not lock it out', async () => {
    const limits = { username: { points: 3, durationSeconds: 60, blockSeconds: 60 }, keyPrefix: `${keyPrefix}b:` };
    const a = instance({ ...limits, redis: await appClient(REDIS_URL) });
    const b = instance({ ...limits, redis: await appClient(REDIS_URL) });
    const device = '192.0.2.10';
    expect((await a.right(device)).status).toBe(200);
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect((await b.wrong(ip)).status).toBe(401);
    expectThrottled(await a.right('10.0.0.4'), 60);
    expectThrottled(await b.right('10.0.0.4'), 60);
    expect((await b.right(device)).status).toBe(200);
  });

  test('the keys are prefixed, carry no username, and expire', async () => {
    const prefix = `${keyPrefix}c:`;
    const a = instance({ keyPrefix: prefix, redis: await appClient(REDIS_URL) });
    expect((await a.wrong()).status).toBe(401);
    expect((await a.right('192.0.2.99')).status).toBe(200);
    const raw = await rawClient();
    try {
      const keys = await listKeys(raw, prefix);
      expect(keys.length).toBeGreaterThan(0);
      for (const key of keys) {
        expect(key.startsWith(prefix)).toBe(true);
        expect(key.toLowerCase()).not.toContain('alice');
        expect(Number(await raw.sendCommand(['PTTL', key]))).toBeGreaterThan(0);
      }
      // The failure's counters stay; the success's address counter, back at zero, is gone.
      expect(keys.map((key) => key.slice(prefix.length).split(':', 1)[0]).sort()).toEqual(
        ['ip', 'ip-username', 'known-device', 'username'].sort(),
      );
    } finally {
      await raw.close();
    }
  });
});

describe('two instances, one Redis Cluster', () => {
  const keyPrefix = uniqueNamespace('throttle-cluster');
  afterAll(async () => {
    const inspector = await clusterTarget().inspect();
    await inspector.deleteNamespace(keyPrefix);
    await inspector.close();
  });

  test('failures on A count on B through a cluster client, and the block holds on both', async () => {
    const limits = { ipUsername: { points: 3, durationSeconds: 60, blockSeconds: 60 }, keyPrefix: `${keyPrefix}a:` };
    const a = instance({ ...limits, redis: await appCluster(REDIS_CLUSTER_URLS) });
    const b = instance({ ...limits, redis: await appCluster(REDIS_CLUSTER_URLS) });
    expect((await a.wrong()).status).toBe(401);
    expect((await a.wrong()).status).toBe(401);
    expect((await b.wrong()).status).toBe(401);
    expectThrottled(await b.right(), 60);
    expectThrottled(await a.right(), 60);
    expect((await b.right('198.51.100.1')).status).toBe(200);
    expect(a.warnings).toEqual([]);
    expect(b.warnings).toEqual([]);
  });

  test('a device known on A is known on B through a cluster client', async () => {
    const limits = { username: { points: 3, durationSeconds: 60, blockSeconds: 60 }, keyPrefix: `${keyPrefix}b:` };
    const a = instance({ ...limits, redis: await appCluster(REDIS_CLUSTER_URLS) });
    const b = instance({ ...limits, redis: await appCluster(REDIS_CLUSTER_URLS) });
    const device = '192.0.2.10';
    expect((await a.right(device)).status).toBe(200);
    for (const ip of ['10.0.0.1', '10.0.0.2', '10.0.0.3']) expect((await b.wrong(ip)).status).toBe(401);
    expectThrottled(await a.right('10.0.0.4'), 60);
    expectThrottled(await b.right('10.0.0.4'), 60);
    expect((await b.right(device)).status).toBe(200);
    // The counters are on the cluster's nodes, spread over its slots.
    const inspector = await clusterTarget().inspect();
    try {
      expect((await inspector.keys(`${keyPrefix}b:`)).length).toBeGreaterThan(0);
    } finally {
      await inspector.close();
    }
  });
});

describe('Redis down', () => {
  test('killed: sign-ins are still answered (200, 401, then 429 from memory), never 503, and it is logged once', async () => {
    const redis = await startPrivateRedis();
    try {
      const app = instance({ ipUsername: { points: 3, durationSeconds: 60, blockSeconds: 60 }, redis: await appClient(redis.url) });
      expect((await app.wrong()).status).toBe(401);
      await redis.kill();
      expect((await app.right('198.51.100.2')).status).toBe(200);
      for (let i = 0; i < 3; i++) expect((await app.wrong()).status).toBe(401);
      expectThrottled(await app.wrong(), 60);
      expectThrottled(await app.right(), 60);
      expect((await app.right('198.51.100.3')).status).toBe(200);
      const outage = app.warnings.filter((w) => w.includes('sign-in throttle'));
      expect(outage).toHaveLength(1);
      expect(outage[0]).toMatch(
        /^nilva-session: the sign-in throttle cannot use Redis \(.+\); each instance counts failed sign-ins in its own memory/,
      );

      // Back: Redis counts again (it is empty: the in-memory block was this instance's only).
      await redis.start();
      const deadline = Date.now() + 20_000;
      while (!app.warnings.some((w) => w.includes('uses Redis again')) && Date.now() < deadline) {
        expect((await app.right('198.51.100.4')).status).toBe(200);
        await sleep(100);
      }
      expect(app.warnings.filter((w) => w.includes('sign-in throttle'))).toEqual([
        outage[0],
        'nilva-session: the sign-in throttle uses Redis again',
      ]);
      expect((await app.wrong('198.51.100.5')).status).toBe(401);
    } finally {
      await redis.stop();
    }
  });

  test('hung (SIGSTOP): a sign-in waits for commandTimeoutMs, then memory answers', async () => {
    const redis = await startPrivateRedis();
    try {
      const app = instance({
        ipUsername: { points: 2, durationSeconds: 60, blockSeconds: 60 },
        commandTimeoutMs: 200,
        redis: await appClient(redis.url),
      });
      expect((await app.right()).status).toBe(200);
      redis.pause();
      const started = Date.now();
      expect((await app.right('198.51.100.6')).status).toBe(200);
      // Correctness bound, not a benchmark: a few timeouts of 200 ms, never a hang.
      expect(Date.now() - started).toBeLessThan(10_000);
      expect((await app.wrong()).status).toBe(401);
      expect((await app.wrong()).status).toBe(401);
      expectThrottled(await app.right(), 60);
      expect(app.warnings.filter((w) => w.includes('sign-in throttle'))).toHaveLength(1);
      redis.resume();
    } finally {
      redis.resume();
      await redis.stop();
    }
  });
});
