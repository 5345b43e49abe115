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

/** A TCP relay to a Redis port that a test can cut, to partition one client from Redis. */
export interface TcpProxy {
  readonly port: number;
  readonly url: string;
  /** Drops every relayed connection and refuses new ones (they are closed at once). */
  cut(): void;
  /** Relays new connections again. */
  restore(): void;
  close(): Promise<void>;
}

/** Starts a {@link TcpProxy} in front of `127.0.0.1:targetPort`. */
export async function startTcpProxy(targetPort: number): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  let open = true;
  const server: Server = createServer((incoming) => {
    if (!open) {
      incoming.destroy();
      return;
    }
    const outgoing = new Socket();
    sockets.add(incoming);
    sockets.add(outgoing);
    const drop = (): void => {
      incoming.destroy();
      outgoing.destroy();
      sockets.delete(incoming);
      sockets.delete(outgoing);
    };
    incoming.on('error', drop).on('close', drop);
    outgoing.on('error', drop).on('close', drop);
    outgoing.connect(targetPort, '127.0.0.1', () => {
      incoming.pipe(outgoing);
      outgoing.pipe(incoming);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  const cutAll = (): void => {
    for (const s of sockets) s.destroy();
    sockets.clear();
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
    close: () =>
      new Promise<void>((resolve) => {
        cutAll();
        server.close(() => resolve());
      }),
  };
}
