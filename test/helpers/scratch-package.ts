// The package as a user gets it: built, packed with `npm pack`, installed into a scratch project.
//
//   const tarball = await packedTarball();            // built and packed once per source state
//   const project = await createScratchProject('readme');
//   await project.npm(['init', '-y']);
//   await project.npm(['i', tarball, 'express', …]);
//   …
//   await project.remove();
//
// The build runs in a copy of the repository (its node_modules linked), never in the work tree:
// `npm run build` starts with `rm -rf dist`, which would pull dist/ from under anything else
// using it meanwhile. Several test files may ask at once; the first one packs, the others wait
// for its tarball (a lock directory), so the package is packed once per run, and reused by later
// runs while the sources it is built from are unchanged (the directory is named by their hash).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { cp, mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type CommandResult, runIn } from './processes.js';

export const ROOT = join(import.meta.dirname, '../..');

/** The README as the tests read it (the one packed into the tarball too). */
export const README_PATH = join(ROOT, 'README.md');

export type { CommandResult };

/**
 * The environment for child commands: this process's, minus the `npm_*` variables an outer
 * `npm test` sets, which would make a nested `npm install` read this repository's settings
 * (its prefix, its package.json) instead of the scratch project's.
 */
export function childEnv(extra: Readonly<Record<string, string>> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^npm_/i.test(name)) env[name] = value;
  }
  return { ...env, ...extra };
}

/** Runs a command to completion in `cwd`; never throws for a non-zero exit (see `check`). */
export function runCommand(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Promise<CommandResult> {
  return runIn(command, args, cwd, childEnv(env));
}

/** Throws with the command, its directory and its output when it did not exit 0. */
export function check(result: CommandResult, what: string): CommandResult {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

// What the tarball is built from. A change to any of these packs anew.
const PACKAGE_INPUTS = ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'src'];

function listFiles(path: string): string[] {
  if (!existsSync(path)) return [];
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((name) => listFiles(join(path, name)));
}

function packageFiles(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { files?: string[] };
  // Everything `files` publishes besides the build output (README, LICENSE, …).
  const published = (pkg.files ?? []).filter((entry) => entry !== 'dist' && !entry.startsWith('dist/'));
  return [...new Set([...PACKAGE_INPUTS, ...published])].flatMap((entry) => listFiles(join(ROOT, entry)));
}

function sourceHash(files: readonly string[]): string {
  const hash = createHash('sha256');
  for (const file of files) {
    hash.update(relative(ROOT, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex').slice(0, 16);
}

const PACK_ROOT = join(tmpdir(), 'nilva-session-packed');
// A lock older than this belongs to a run that died; the build and pack take well under it.
const STALE_LOCK_MS = 10 * 60_000;

let packed: Promise<string> | undefined;

/**
 * The path of the packed tarball (`nilva-session-<version>.tgz`) of the repository as it is
 * now: `npm run build` in a copy, then `npm pack` of that copy.
 */
export function packedTarball(): Promise<string> {
  packed ??= pack();
  return packed;
}

async function pack(): Promise<string> {
  const files = packageFiles();
  const target = join(PACK_ROOT, sourceHash(files));
  const lock = `${target}.lock`;
  mkdirSync(PACK_ROOT, { recursive: true });
  for (;;) {
    const existing = findTarball(target);
    if (existing !== undefined) return existing;
    try {
      mkdirSync(lock);
    } catch {
      // Another test file is packing: wait for its tarball, or take over a dead run's lock.
      if (lockIsAbandoned(lock)) await rm(lock, { recursive: true, force: true });
      await sleep(500);
      continue;
    }
    try {
      writeFileSync(join(lock, 'pid'), String(process.pid));
      const tarball = await buildAndPack(files, lock);
      await rename(lock, target);
      await pruneOldTarballs();
      return join(target, tarball);
    } catch (error) {
      await rm(lock, { recursive: true, force: true });
      throw error;
    }
  }
}

/** Whether the process that took `lock` is gone (killed mid-pack), or the lock is far too old. */
function lockIsAbandoned(lock: string): boolean {
  const since = statSync(lock, { throwIfNoEntry: false })?.mtimeMs;
  if (since === undefined) return false;
  if (Date.now() - since > STALE_LOCK_MS) return true;
  let pid: number;
  try {
    pid = Number(readFileSync(join(lock, 'pid'), 'utf8'));
  } catch {
    return false; // just taken (its pid not written yet), or just renamed to the tarball's directory
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Tarballs of earlier source states, a day old or more, are not needed again. */
async function pruneOldTarballs(): Promise<void> {
  for (const name of readdirSync(PACK_ROOT)) {
    const path = join(PACK_ROOT, name);
    const since = statSync(path, { throwIfNoEntry: false })?.mtimeMs;
    if (!name.endsWith('.lock') && since !== undefined && Date.now() - since > 24 * 3600_000)
      await rm(path, { recursive: true, force: true });
  }
}

function findTarball(dir: string): string | undefined {
  if (!existsSync(dir)) return undefined;
  const name = readdirSync(dir).find((file) => file.endsWith('.tgz'));
  return name === undefined ? undefined : join(dir, name);
}

/** Builds a copy of the sources in `work/copy` and packs it into `work`; returns the file name. */
async function buildAndPack(files: readonly string[], work: string): Promise<string> {
  const copy = join(work, 'copy');
  for (const file of files) {
    const to = join(copy, relative(ROOT, file));
    await mkdir(dirname(to), { recursive: true });
    await cp(file, to);
  }
  await symlink(join(ROOT, 'node_modules'), join(copy, 'node_modules'), 'dir');
  check(await runCommand('npm', ['run', 'build'], copy), 'npm run build');
  // The build ran above; --ignore-scripts keeps a prepack script from building a second time.
  const result = check(await runCommand('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', work], copy), 'npm pack');
  const name = result.stdout.trim().split('\n').at(-1);
  if (name === undefined || !name.endsWith('.tgz')) throw new Error(`npm pack printed no tarball name:\n${result.stdout}`);
  await rm(copy, { recursive: true, force: true });
  return name;
}

/** The peer dependencies of the package, as `name@range` install arguments. */
export function peerInstallArgs(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { peerDependencies?: Record<string, string> };
  return Object.entries(pkg.peerDependencies ?? {}).map(([name, range]) => `${name}@${range}`);
}

/** A directory for one scratch project, removed by `remove()`. */
export interface ScratchProject {
  readonly dir: string;
  /** Runs npm in the project (no `npm_*` variables of an outer npm leak in). */
  npm(args: readonly string[]): Promise<CommandResult>;
  /** Runs any command in the project. */
  run(command: string, args: readonly string[], env?: Readonly<Record<string, string>>): Promise<CommandResult>;
  write(path: string, text: string): Promise<void>;
  read(path: string): Promise<string>;
  remove(): Promise<void>;
}

/**
 * An empty directory named `name` (its package name after `npm init -y`) in a fresh temporary
 * directory. Kept after `remove()` when NILVA_KEEP_SCRATCH=1, to look into a failure.
 */
export async function createScratchProject(label: string, name = 'my-app'): Promise<ScratchProject> {
  const parent = await mkdtemp(join(tmpdir(), `nilva-${label}-`));
  const dir = join(parent, name);
  await mkdir(dir);
  return {
    dir,
    npm: (args) => runCommand('npm', args, dir),
    run: (command, args, env = {}) => runCommand(command, args, dir, env),
    write: async (path, text) => {
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), text);
    },
    read: (path) => readFile(join(dir, path), 'utf8'),
    remove: async () => {
      if (process.env.NILVA_KEEP_SCRATCH === '1') console.log(`scratch project kept: ${dir}`);
      else await rm(parent, { recursive: true, force: true });
    },
  };
}

/** Install flags that change nothing about what is installed: quiet, and from the cache when it can. */
export const QUIET_INSTALL = ['--no-audit', '--no-fund', '--prefer-offline'] as const;

/** A TCP port free right now on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A long-running child (a server), with its output so far. */
export interface RunningProcess {
  readonly child: ChildProcess;
  output(): string;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
}

/** Starts `command` in `cwd` and resolves once its output matches `ready` (rejects if it exits first). */
export function startProcess(
  command: string,
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>>,
  ready: RegExp,
  timeoutMs = 30_000,
): Promise<RunningProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, env: childEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const running: RunningProcess = {
      child,
      output: () => output,
      stop: () =>
        new Promise((done) => {
          if (child.exitCode !== null || child.signalCode !== null) return done();
          const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(kill);
            done();
          });
          child.kill('SIGTERM');
        }),
    };
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${command} ${args.join(' ')} printed nothing matching ${ready} in ${timeoutMs} ms:\n${output}`));
    }, timeoutMs);
    const onData = (d: Buffer) => {
      output += d.toString();
      if (ready.test(output)) {
        clearTimeout(timer);
        resolve(running);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${command} ${args.join(' ')} exited (${code ?? signal}) before it was ready:\n${output}`));
    });
  });
}
