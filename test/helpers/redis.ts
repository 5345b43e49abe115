import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createClient, createCluster } from '@redis/client';

/** The shared Redis. Never stopped by tests: fault tests start their own. */
export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A namespace no other test file, run or process uses: `nilva-test:<label>:<random>:`. */
export function uniqueNamespace(label: string): string {
  return `nilva-test:${label}:${randomUUID().slice(0, 8)}:`;
}

/** Deletes every key under `namespace` (tests clean up after themselves on the shared server). */
export async function deleteNamespace(namespace: string, url = REDIS_URL): Promise<void> {
  const client = createClient({ url });
  client.on('error', () => undefined);
  await client.connect();
  try {
    for (const key of await listKeys(client, namespace)) await client.sendCommand(['UNLINK', key]);
  } finally {
    await client.close();
  }
}

/** Every key under `namespace`, sorted. */
export async function listKeys(client: { sendCommand(args: string[]): Promise<unknown> }, namespace: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const reply = (await client.sendCommand(['SCAN', cursor, 'MATCH', `${namespace}*`, 'COUNT', '1000'])) as [string, string[]];
    cursor = String(reply[0]);
    keys.push(...reply[1].map(String));
  } while (cursor !== '0');
  return keys.sort();
}

function newClient(url: string) {
  return createClient({ url });
}

/** A plain node-redis client. */
export type RedisRawClient = ReturnType<typeof newClient>;

/** A connected client on `url`, for tests that look at or tamper with the keys. */
export async function rawClient(url = REDIS_URL): Promise<RedisRawClient> {
  const client = newClient(url);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A port nothing listens on right now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A throwaway `redis-server` child process on its own port, for tests that stop Redis. */
export interface PrivateRedis {
  readonly port: number;
  readonly url: string;
  /** SIGKILL, as a crash: clients see their connections drop. */
  kill(): Promise<void>;
  /** SIGSTOP: connections stay open but nothing answers (a hung server or a silent partition). */
  pause(): void;
  /** SIGCONT after {@link PrivateRedis.pause}. */
  resume(): void;
  /** Starts it again on the same port (empty: it never persists). */
  start(): Promise<void>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

/**
 * Starts `redis-server --port N --save "" --appendonly no --daemonize no` on a free port (or
 * `options.port`) and waits until it accepts connections; with `running: false` it only picks
 * the port, for a test that starts it later. Call `stop()` in cleanup.
 */
export async function startPrivateRedis(options: { port?: number; running?: boolean } = {}): Promise<PrivateRedis> {
  const port = options.port ?? (await freePort());
  const dir = mkdtempSync(join(tmpdir(), 'nilva-redis-'));
  let child: ChildProcess | undefined;

  const start = (): Promise<void> =>
    new Promise((resolve, reject) => {
      const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no', '--dir', dir];
      const proc = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
      child = proc;
      children.add(proc);
      let output = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`redis-server did not start on ${port}:\n${output}`));
      }, 10_000);
      const onData = (d: Buffer): void => {
        output += d.toString();
        if (output.includes('Ready to accept connections')) {
          clearTimeout(timer);
          proc.stdout?.off('data', onData);
          proc.stdout?.resume();
          resolve();
        }
      };
      proc.stdout?.on('data', onData);
      proc.stderr?.on('data', (d: Buffer) => {
        output += d.toString();
      });
      proc.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
      proc.once('exit', () => children.delete(proc));
    });

  const kill = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    proc.kill('SIGKILL');
    await exited;
  };

  if (options.running !== false) await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    kill,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    start,
    stop: async () => {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A TCP relay to a Redis port that a test can cut or partition, to cut one client off Redis. */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Drops every relayed connection and refuses new ones (they are closed at once): a clean close. */
  cut(): void;
  /** Relays new connections again. */
  restore(): void;
  /**
   * A silent partition, as a firewall dropping packets both ways makes one: nothing passes in
   * either direction and no socket is closed, so neither side learns anything (half-open
   * connections). New connections are accepted and then held, like a handshake that never
   * reaches the server. As TCP retransmits, bytes sent meanwhile are not lost: they wait (in
   * the kernel's buffers) and arrive once {@link TcpProxy.heal} is called, and a side that
   * closed during the partition is closed on the other side then.
   */
  partition(): void;
  /** Ends a partition: what waited flows, held connections reach the target. */
  heal(): void;
  /** Whether {@link TcpProxy.partition} is in force. */
  readonly partitioned: boolean;
  close(): Promise<void>;
}

/** One relayed connection: the client's socket and the one to the target. */
class Link {
  readonly #incoming: Socket;
  readonly #outgoing = new Socket();
  readonly #targetPort: number;
  /** Whether a partition is in force. */
  readonly #partitioned: () => boolean;
  readonly #onGone: (link: Link) => void;
  #connecting = false;
  #flowing = false;
  /** A side closed during a partition: the other is closed when it heals. */
  #closeOnHeal = false;
  #gone = false;

  constructor(incoming: Socket, targetPort: number, partitioned: () => boolean, onGone: (link: Link) => void) {
    this.#incoming = incoming;
    this.#targetPort = targetPort;
    this.#partitioned = partitioned;
    this.#onGone = onGone;
    // Held until relayed: what the client writes waits in the kernel.
    incoming.pause();
    incoming.on('error', () => this.#closed()).on('close', () => this.#closed());
    this.#outgoing.on('error', () => this.#closed()).on('close', () => this.#closed());
  }

  /** Relays both ways (connecting to the target first, if not yet). */
  flow(): void {
    if (this.#gone || this.#flowing) return;
    if (this.#closeOnHeal) {
      this.destroy();
      return;
    }
    if (!this.#connecting) {
      this.#connecting = true;
      this.#outgoing.pause();
      this.#outgoing.connect(this.#targetPort, '127.0.0.1', () => this.#pipe());
      return;
    }
    if (this.#outgoing.readyState === 'open') this.#pipe();
  }

  #pipe(): void {
    if (this.#gone || this.#flowing || this.#partitioned()) return;
    this.#flowing = true;
    // pipe() resumes the source: what waited is delivered first.
    this.#incoming.pipe(this.#outgoing);
    this.#outgoing.pipe(this.#incoming);
  }

  /** Stops relaying both ways, keeping both sockets open. */
  hold(): void {
    if (!this.#flowing) return;
    this.#flowing = false;
    this.#incoming.unpipe(this.#outgoing);
    this.#outgoing.unpipe(this.#incoming);
    this.#incoming.pause();
    this.#outgoing.pause();
  }

  destroy(): void {
    if (this.#gone) return;
    this.#gone = true;
    this.#incoming.destroy();
    this.#outgoing.destroy();
    this.#onGone(this);
  }

  #closed(): void {
    if (this.#partitioned() && !this.#gone) {
      // The close cannot cross the partition either.
      this.#closeOnHeal = true;
      return;
    }
    this.destroy();
  }
}

/** Starts a {@link TcpProxy} in front of `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const links = new Set<Link>();
  let open = true;
  let partitioned = false;
  const server: Server = createServer((incoming) => {
    if (!open) {
      incoming.destroy();
      return;
    }
    const link = new Link(
      incoming,
      targetPort,
      () => partitioned,
      (l) => links.delete(l),
    );
    links.add(link);
    if (!partitioned) link.flow();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const cutAll = (): void => {
    for (const link of [...links]) link.destroy();
  };
  return {
    port: address.port,
    url: `redis://127.0.0.1:${address.port}`,
    cut: () => {
      open = false;
      cutAll();
    },
    restore: () => {
      open = true;
    },
    partition: () => {
      partitioned = true;
      for (const link of links) link.hold();
    },
    heal: () => {
      partitioned = false;
      for (const link of [...links]) link.flow();
    },
    get partitioned() {
      return partitioned;
    },
    close: () =>
      new Promise<void>((resolve) => {
        partitioned = false;
        cutAll();
        server.close(() => resolve());
      }),
  };
}

// ---------------------------------------------------------------------------------------------
// Redis Cluster

const CLUSTER_SCRIPT = fileURLToPath(new URL('../../scripts/redis-cluster.sh', import.meta.url));

/** The shared local cluster (scripts/redis-cluster.sh, ports 7000–7005): started by the integration project's global setup. */
export const REDIS_CLUSTER_URLS: readonly string[] = process.env.REDIS_CLUSTER_URLS?.split(',') ?? [
  'redis://127.0.0.1:7000',
  'redis://127.0.0.1:7001',
  'redis://127.0.0.1:7002',
];

/** Runs scripts/redis-cluster.sh (start, stop, status) for the cluster on `base`..`base + 5`. */
export function redisClusterScript(command: 'start' | 'stop' | 'status', base: number, env: NodeJS.ProcessEnv = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      'bash',
      [CLUSTER_SCRIPT, command, String(base)],
      { env: { ...process.env, ...env }, timeout: 60_000 },
      (error, stdout, stderr) => {
        if (error) reject(new Error(`redis-cluster.sh ${command} ${base} failed: ${error.message}\n${stdout}${stderr}`));
        else resolve();
      },
    );
  });
}

/** Starts the shared cluster unless it is up (what `.ci/run` does too); it is left running. */
export async function ensureRedisCluster(): Promise<void> {
  if (process.env.REDIS_CLUSTER_URLS !== undefined) return;
  await redisClusterScript('start', 7000);
}

function newCluster(urls: readonly string[]) {
  return createCluster({ rootNodes: urls.map((url) => ({ url })) });
}

/** A plain node-redis cluster client. */
export type RedisRawCluster = ReturnType<typeof newCluster>;

/** A connected cluster client on `urls`, for tests that look at or tamper with the keys. */
export async function rawCluster(urls: readonly string[] = REDIS_CLUSTER_URLS): Promise<RedisRawCluster> {
  const cluster = newCluster(urls);
  cluster.on('error', () => undefined);
  await cluster.connect();
  return cluster;
}

/** Every key under `namespace` on every master of the cluster, sorted. */
export async function listClusterKeys(cluster: RedisRawCluster, namespace: string): Promise<string[]> {
  const keys: string[] = [];
  for (const master of cluster.masters) keys.push(...(await listKeys(await cluster.nodeClient(master), namespace)));
  return keys.sort();
}

/**
 * A Redis deployment the Redis tests run against (describe.each): the single server or the
 * cluster. `connection` is what `createRedisSessionCache` takes to reach it.
 */
export interface RedisTarget {
  readonly name: 'standalone' | 'cluster';
  readonly connection: { readonly url: string } | { readonly urls: readonly string[] };
  /** A raw client to look at keys with; close it. */
  inspect(): Promise<RedisInspector>;
}

/** What tests do to keys behind the cache's back, the same on a single server and a cluster. */
export interface RedisInspector {
  /** Every key under `namespace`, sorted. */
  keys(namespace: string): Promise<string[]>;
  get(key: string): Promise<string | null>;
  pttl(key: string): Promise<number>;
  set(key: string, value: string, pxMs: number): Promise<void>;
  /** Deletes every key under `namespace`. */
  deleteNamespace(namespace: string): Promise<void>;
  close(): Promise<void>;
}

function inspector(
  send: (key: string, args: string[]) => Promise<unknown>,
  keys: (ns: string) => Promise<string[]>,
  close: () => Promise<void>,
): RedisInspector {
  return {
    keys,
    get: async (key) => {
      const v = await send(key, ['GET', key]);
      return v === null ? null : String(v);
    },
    pttl: async (key) => Number(await send(key, ['PTTL', key])),
    set: async (key, value, pxMs) => {
      await send(key, ['SET', key, value, 'PX', String(pxMs)]);
    },
    deleteNamespace: async (ns) => {
      for (const key of await keys(ns)) await send(key, ['UNLINK', key]);
    },
    close,
  };
}

/** The single server on `url` as a target. */
export function standaloneTarget(url = REDIS_URL): RedisTarget {
  return {
    name: 'standalone',
    connection: { url },
    inspect: async () => {
      const client = await rawClient(url);
      return inspector(
        (_key, args) => client.sendCommand(args),
        (ns) => listKeys(client, ns),
        () => client.close(),
      );
    },
  };
}

/** The cluster reached through `urls` as a target. */
export function clusterTarget(urls: readonly string[] = REDIS_CLUSTER_URLS): RedisTarget {
  return {
    name: 'cluster',
    connection: { urls },
    inspect: async () => {
      const cluster = await rawCluster(urls);
      return inspector(
        (key, args) => cluster.sendCommand(key, false, args),
        (ns) => listClusterKeys(cluster, ns),
        () => cluster.close(),
      );
    },
  };
}

/** Every Redis deployment the Redis tier is tested on. */
export const REDIS_TARGETS: readonly RedisTarget[] = [standaloneTarget(), clusterTarget()];

/** A throwaway cluster of its own (its own ports and directory), for tests that kill nodes. */
export interface PrivateRedisCluster {
  readonly urls: readonly string[];
  readonly ports: readonly number[];
  /** SIGKILLs the node on `port` (a crash: its clients see their connections drop). */
  kill(port: number): void;
  /** The port of the master serving `key`'s slot right now. */
  masterOf(key: string): Promise<number>;
  /** Resolves once `port`'s slots are served by another node (its replica took over). */
  waitForFailover(port: number, timeoutMs: number): Promise<void>;
  /** Kills every node and removes the directory. */
  stop(): Promise<void>;
}

/** Six consecutive free ports whose cluster-bus ports (+10000) are free too. */
async function freeClusterBase(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = [0, 1, 2, 3, 4, 5].flatMap((i) => [base + i, base + i + 10_000]);
    if ((await Promise.all(ports.map(portIsFree))).every(Boolean)) return base;
  }
  throw new Error('no free ports for a private cluster');
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** Starts 3 masters and 3 replicas on free ports (scripts/redis-cluster.sh). Call `stop()` in cleanup. */
export async function startPrivateCluster(): Promise<PrivateRedisCluster> {
  const base = await freeClusterBase();
  const dir = mkdtempSync(join(tmpdir(), 'nilva-redis-cluster-'));
  const env = { NILVA_REDIS_CLUSTER_DIR: join(dir, 'nodes') };
  const ports = [0, 1, 2, 3, 4, 5].map((i) => base + i);
  const pidOf = (port: number): number => Number(readFileSync(join(dir, 'nodes', `${port}.pid`), 'utf8').trim());
  const killAll = (): void => {
    for (const port of ports) {
      try {
        process.kill(pidOf(port), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  };
  privateClusters.add(killAll);
  try {
    await redisClusterScript('start', base, env);
  } catch (error) {
    killAll();
    privateClusters.delete(killAll);
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  const urls = ports.slice(0, 3).map((p) => `redis://127.0.0.1:${p}`);
  const cli = async (port: number, args: string[]): Promise<unknown> => {
    const client = createClient({ url: `redis://127.0.0.1:${port}`, socket: { reconnectStrategy: false, connectTimeout: 1000 } });
    client.on('error', () => undefined);
    await client.connect();
    try {
      return await client.sendCommand(args);
    } finally {
      client.destroy();
    }
  };
  const slotOwner = async (slot: number, exclude?: number): Promise<number | undefined> => {
    for (const port of ports) {
      if (port === exclude) continue;
      try {
        const shards = (await cli(port, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, string]]>;
        for (const [from, to, master] of shards) if (slot >= from && slot <= to) return Number(master[1]);
        return undefined;
      } catch {
        // that node is down: ask the next
      }
    }
    return undefined;
  };
  return {
    urls,
    ports,
    kill: (port) => process.kill(pidOf(port), 'SIGKILL'),
    masterOf: async (key) => {
      const slot = Number(
        await cli(ports[0] as number, ['CLUSTER', 'KEYSLOT', key]).catch(() => cli(ports[1] as number, ['CLUSTER', 'KEYSLOT', key])),
      );
      const owner = await slotOwner(slot);
      if (owner === undefined) throw new Error(`no master for ${key}`);
      return owner;
    },
    waitForFailover: async (port, timeoutMs) => {
      const slotsOf = async (): Promise<number | undefined> => {
        for (const p of ports) {
          if (p === port) continue;
          try {
            const shards = (await cli(p, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, string]]>;
            const mine = shards.find(([, , master]) => Number(master[1]) === port);
            if (mine !== undefined) return undefined;
            const info = String(await cli(p, ['CLUSTER', 'INFO']));
            return info.includes('cluster_state:ok') ? p : undefined;
          } catch {
            // next
          }
        }
        return undefined;
      };
      const deadline = performance.now() + timeoutMs;
      while ((await slotsOf()) === undefined) {
        if (performance.now() > deadline) throw new Error(`no replica took over from ${port} within ${timeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    stop: async () => {
      killAll();
      privateClusters.delete(killAll);
      await redisClusterScript('stop', base, env).catch(() => undefined);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const privateClusters = new Set<() => void>();
process.once('exit', () => {
  for (const killAll of privateClusters) killAll();
});
