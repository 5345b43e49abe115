// App processes that a test kills with SIGKILL: test/helpers/crash-worker.ts, bundled once by
// esbuild (a plain `node` start takes about a second where tsx's loader takes three on two busy
// cores), started as many times as the test kills them. Every request the test sends is tracked
// per process, so the test can kill a process while a request of a given kind is in flight.
//
//   const bundle = await bundleCrashWorker();
//   const worker = await startCrashWorker(bundle.path, env);
//   const res = await worker.request('POST', '/api/login', { body: {...} });   // acked or not
//   await worker.kill();
//   await bundle.remove();
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ROOT } from './processes.js';

/** The worker bundled into one ES module under node_modules/.cache (its packages resolve from there). */
export async function bundleCrashWorker(): Promise<{ readonly path: string; remove(): Promise<void> }> {
  const dir = join(ROOT, 'node_modules/.cache/nilva-session-tests');
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `crash-worker-${process.pid}-${Date.now()}.mjs`);
  await build({
    entryPoints: [join(ROOT, 'test/helpers/crash-worker.ts')],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: path,
    logLevel: 'warning',
  });
  return {
    path,
    remove: async () => rmSync(path, { force: true }),
  };
}

/** What the test learnt from one request: the response, or that none arrived. */
export type Outcome =
  | { readonly acked: true; readonly status: number; readonly json: unknown }
  | { readonly acked: false; readonly error: string };

/** One process: one incarnation of a worker slot, from its start to its death. */
export interface CrashWorker {
  /** Increasing over the run. */
  readonly incarnation: number;
  readonly url: string;
  /** `Date.now()` just before the process was spawned: it cannot have done anything earlier. */
  readonly spawnedAt: number;
  /** `Date.now()` just before SIGKILL was sent (`undefined` while alive). */
  readonly diedAt: number | undefined;
  /** Requests sent to it that have not settled, by kind. */
  inflight(kind: string): number;
  /** Resolves when a request of `kind` is next sent to this process. */
  nextRequest(kind: string): Promise<void>;
  request(
    method: string,
    path: string,
    options: { kind: string; authorization?: string | undefined; body?: unknown; userAgent: string },
  ): Promise<Outcome>;
  /** SIGKILL, then waits for the exit. */
  kill(): Promise<void>;
  /** What the process wrote to stderr (the last few kilobytes). */
  stderr(): string;
}

let incarnations = 0;

/**
 * Starts the bundled worker with `env` and waits for its `listening on` line. A process that
 * exits by itself rejects (before it listens) or is reported through `onUnexpectedExit`.
 */
export function startCrashWorker(
  bundlePath: string,
  env: Record<string, string>,
  onUnexpectedExit: (message: string) => void,
): Promise<CrashWorker> {
  const incarnation = ++incarnations;
  const spawnedAt = Date.now();
  const child: ChildProcess = spawn(process.execPath, [bundlePath], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  let diedAt: number | undefined;
  let killing = false;
  const inflight = new Map<string, number>();
  const waiters = new Map<string, Array<() => void>>();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.stderr?.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });

  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`crash worker ${incarnation} did not start in 60 s:\n${stdout}${stderr}`));
    }, 60_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      if (killing) return;
      const message = `crash worker ${incarnation} exited by itself (code ${code}, signal ${signal}):\n${stderr}`;
      if (url === undefined) reject(new Error(message));
      else onUnexpectedExit(message);
    });
    let url: string | undefined;
    child.stdout?.on('data', (d: Buffer) => {
      stdout += d.toString();
      const match = /listening on (http:\/\/\S+)/.exec(stdout);
      if (url !== undefined || match?.[1] === undefined) return;
      url = match[1];
      clearTimeout(timer);
      const base = url;
      resolve({
        incarnation,
        url: base,
        spawnedAt,
        get diedAt() {
          return diedAt;
        },
        inflight: (kind) => inflight.get(kind) ?? 0,
        nextRequest: (kind) =>
          new Promise((wake) => {
            const list = waiters.get(kind) ?? [];
            list.push(wake);
            waiters.set(kind, list);
          }),
        async request(method, path, options) {
          inflight.set(options.kind, (inflight.get(options.kind) ?? 0) + 1);
          const woken = waiters.get(options.kind);
          waiters.delete(options.kind);
          try {
            const pending = send(base, method, path, options);
            for (const wake of woken ?? []) wake();
            return await pending;
          } finally {
            inflight.set(options.kind, (inflight.get(options.kind) ?? 1) - 1);
          }
        },
        async kill() {
          killing = true;
          diedAt = Date.now();
          child.kill('SIGKILL');
          await exited;
        },
        stderr: () => stderr,
      });
    });
  });
}

/** One request on its own connection; a closed or refused connection is `acked: false`. */
function send(
  base: string,
  method: string,
  path: string,
  options: { authorization?: string | undefined; body?: unknown; userAgent: string },
): Promise<Outcome> {
  const url = new URL(path, base);
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { 'user-agent': options.userAgent };
  if (options.authorization !== undefined) headers.authorization = options.authorization;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve) => {
    let settled = false;
    const done = (outcome: Outcome) => {
      if (settled) return;
      settled = true;
      resolve(outcome);
    };
    const req = httpRequest(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, method, headers, agent: false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('aborted', () => done({ acked: false, error: 'response aborted' }));
        res.on('error', (error) => done({ acked: false, error: error.message }));
        res.on('end', () => {
          if (!res.complete) return done({ acked: false, error: 'response incomplete' });
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length === 0 ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          done({ acked: true, status: res.statusCode ?? 0, json });
        });
      },
    );
    // A process killed mid-request closes the socket at once; a minute without an answer from a
    // live one is a hang, reported as such by the test (it is never acked).
    req.setTimeout(60_000, () => req.destroy(new Error('no answer in 60 s')));
    req.on('error', (error) => done({ acked: false, error: (error as NodeJS.ErrnoException).code ?? error.message }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}
