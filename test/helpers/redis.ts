import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createClient } from '@redis/client';

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
