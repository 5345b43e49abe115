// A throwaway PostgreSQL cluster of the test's own, for tests that stop or restart the server:
// the shared one on 5432 is never touched.
//
//   const pg = await startPrivatePostgres();       // initdb into a temp dir, pg_ctl start -w
//   const connection = await connectDatabase(pg.url);
//   await pg.restart();                           // pg_ctl restart -m fast -w
//   await pg.destroy();                           // pg_ctl stop -m immediate, rm -rf the dir
//
// Who runs it: initdb and postgres refuse to run as root. As any other user the cluster runs
// as that user. As root (CI and this repository's containers run as root) every PostgreSQL
// command runs through `runuser -u postgres --` (the account the distribution's package
// creates; NILVA_PG_OS_USER names another), and the temp dir is handed to that user first.
// The binaries are found in PG_BIN, else the newest /usr/lib/postgresql/<version>/bin (Debian
// and Ubuntu), else on the PATH.
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type CommandResult, runIn } from './processes.js';
import { freePort } from './redis.js';

/** A running private cluster. */
export interface PrivatePostgres {
  readonly port: number;
  /** `postgres://postgres@127.0.0.1:PORT/postgres` (trust authentication). */
  readonly url: string;
  /** `pg_ctl stop -m fast -w`: connections are terminated, then the server exits. */
  stop(): Promise<void>;
  /** `pg_ctl start -w`: resolves once the server accepts connections. */
  start(): Promise<void>;
  /** `pg_ctl restart -m fast -w`. */
  restart(): Promise<void>;
  /** The server's log, for a failure message. */
  log(): string;
  /** Stops it at once (`-m immediate`) and removes its directory. Safe to call twice. */
  destroy(): Promise<void>;
}

/** The directory holding initdb and pg_ctl. */
export function postgresBinDir(): string {
  if (process.env.PG_BIN !== undefined) return process.env.PG_BIN;
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root)
      .filter((v) => existsSync(join(root, v, 'bin', 'initdb')))
      .sort((a, b) => Number(b) - Number(a));
    if (versions[0] !== undefined) return join(root, versions[0], 'bin');
  }
  // On the PATH (Homebrew, Alpine, Fedora): pg_config knows where the server binaries are.
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error('no PostgreSQL server binaries: install postgresql, or set PG_BIN to the directory holding initdb and pg_ctl');
  }
}

/** The OS account the cluster runs as: `undefined` for this process's own user. */
function osUser(): { name: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const name = process.env.NILVA_PG_OS_USER ?? 'postgres';
  try {
    const uid = Number(execFileSync('id', ['-u', name], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', name], { encoding: 'utf8' }).trim());
    return { name, uid, gid };
  } catch {
    throw new Error(`running as root, and PostgreSQL refuses root: no OS user "${name}" to run it as (set NILVA_PG_OS_USER)`);
  }
}

const clusters = new Set<() => void>();
process.once('exit', () => {
  for (const stop of clusters) stop();
});

/** initdb into a fresh temp dir, then starts the cluster on a free port (or `options.port`). */
export async function startPrivatePostgres(options: { port?: number } = {}): Promise<PrivatePostgres> {
  const bin = postgresBinDir();
  const user = osUser();
  const port = options.port ?? (await freePort());
  // Short: the socket's path (dir/.s.PGSQL.PORT) must fit in 107 bytes.
  const dir = mkdtempSync(join(tmpdir(), 'nilva-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const logFile = join(dir, 'server.log');

  const argv = (command: string, args: readonly string[]): [string, string[]] =>
    user === undefined ? [join(bin, command), [...args]] : ['runuser', ['-u', user.name, '--', join(bin, command), ...args]];
  const pg = async (command: string, args: readonly string[]): Promise<CommandResult> => {
    const [file, fileArgs] = argv(command, args);
    const result = await runIn(file, fileArgs, dir, { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C' });
    if (result.code !== 0) {
      throw new Error(`${command} ${args.join(' ')} exited with ${result.code}:\n${result.stdout}${result.stderr}\n${readLog()}`);
    }
    return result;
  };
  const readLog = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  // Small and unsafe on purpose: a throwaway cluster that only needs to start quickly.
  const serverOptions = [
    `-p ${port}`,
    `-k ${dir}`,
    '-c listen_addresses=127.0.0.1',
    '-c fsync=off',
    '-c synchronous_commit=off',
    '-c full_page_writes=off',
    '-c shared_buffers=16MB',
    '-c max_connections=40',
  ].join(' ');
  const start = async (): Promise<void> => {
    await pg('pg_ctl', ['-D', data, '-l', logFile, '-o', serverOptions, '-w', '-t', '60', 'start']);
  };
  const stopNow = (): void => {
    const [file, fileArgs] = argv('pg_ctl', ['-D', data, '-m', 'immediate', '-w', 'stop']);
    spawnSync(file, fileArgs, { cwd: dir, stdio: 'ignore' });
  };

  try {
    await pg('initdb', ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--locale=C', '--no-sync']);
    await start();
  } catch (error) {
    stopNow();
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  clusters.add(stopNow);
  let destroyed = false;
  return {
    port,
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await pg('pg_ctl', ['-D', data, '-m', 'fast', '-w', '-t', '60', 'stop']);
    },
    start,
    restart: async () => {
      await pg('pg_ctl', ['-D', data, '-l', logFile, '-o', serverOptions, '-m', 'fast', '-w', '-t', '60', 'restart']);
    },
    log: readLog,
    destroy: async () => {
      if (destroyed) return;
      destroyed = true;
      clusters.delete(stopNow);
      stopNow();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
