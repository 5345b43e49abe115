// HTTP load: for each framework, every configuration runs in a server child process of its own
// (one core for the server, the other for autocannon here), measured in interleaved rounds so
// that machine noise hits all configurations alike. Ratios are to the baseline of the same round.
import { type ChildProcess, execFileSync, fork } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon, { type AutocannonResult } from 'autocannon';
import { build } from 'esbuild';
import { deleteNamespace, openBenchDatabase, USER_AGENT, uniqueNamespace, waitForQuiet } from './environment.js';
import {
  FRAMEWORKS,
  type Framework,
  HEADLINE_CONFIGS,
  HTTP_CONFIG_INFO,
  HTTP_CONFIGS,
  type HttpConfig,
  type ParentMessage,
  QUICK_HTTP_CONFIGS,
  type ServerCounters,
  type ServerMessage,
  type ServerSpec,
} from './http-configs.js';
import type { BenchOptions } from './options.js';
import type { HeadlineDifference, HeadlineRow, HttpCell, HttpHeadline, HttpResults, HttpRound } from './results.js';
import { benchManager } from './session-stack.js';
import { meanInterval, median, quantile } from './stats.js';

const ALL_CPUS = `0-${Math.max(0, cpus().length - 1)}`;

/** Requests per connection sent to a server, unmeasured, right before each of its measurements (--quick: 40). */
const REHEAT_REQUESTS = 100;

const SERVER_SOURCE = fileURLToPath(new URL('./http-server.ts', import.meta.url));
const BUNDLE_DIR = fileURLToPath(new URL('../node_modules/.cache/nilva-session-bench/', import.meta.url));

/**
 * The server child bundled into one plain ES module, as an application's build would ship the
 * library, and run by `node` alone. Run through tsx instead, every closure the library creates
 * calls esbuild's `__name` helper (tsx keeps function names), a cost production code does not
 * pay and which fell unevenly on the configurations (about 0.6 µs per JWT request).
 */
async function serverEntry(): Promise<string> {
  mkdirSync(BUNDLE_DIR, { recursive: true });
  const path = join(BUNDLE_DIR, `http-server-${process.pid}.mjs`);
  await build({
    entryPoints: [SERVER_SOURCE],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outfile: path,
    logLevel: 'warning',
  });
  return path;
}

interface RunningServer {
  readonly config: HttpConfig;
  readonly namespace: string;
  readonly child: ChildProcess;
  readonly port: number;
  counters(): Promise<ServerCounters>;
  close(): Promise<void>;
}

function nextMessage(child: ChildProcess, type: ServerMessage['type'], timeoutMs: number): Promise<ServerMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server child: no "${type}" message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: ServerMessage) => {
      if (message.type === type || message.type === 'error') {
        cleanup();
        if (message.type === 'error') reject(new Error(`server child failed: ${message.message}`));
        else resolve(message);
      }
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`server child exited (${code}) before "${type}"`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.once('exit', onExit);
  });
}

/**
 * Pins every thread of a process to the given CPUs (Linux `taskset`); returns whether it could.
 * The servers get core 1 and the load generator core 0, so the scheduler never puts both on one
 * core for a measurement and the next measurement on two.
 */
export function pinToCpus(pid: number, cpus: string): boolean {
  try {
    execFileSync('taskset', ['-a', '-cp', cpus, String(pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function startServer(entry: string, spec: ServerSpec, options: BenchOptions): Promise<RunningServer> {
  const execArgv: string[] = [];
  if (options.profile) {
    // One directory per server.
    execArgv.push('--cpu-prof', '--cpu-prof-dir', `${options.profileDir}/${spec.framework}-${spec.config}`);
  }
  const child = fork(entry, [JSON.stringify(spec)], { execArgv, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  // A child inherits the load generator's core: it boots on every core, then moves to the servers' core.
  if (child.pid !== undefined) pinToCpus(child.pid, ALL_CPUS);
  let ready: ServerMessage;
  try {
    ready = await nextMessage(child, 'ready', 60_000);
  } catch (error) {
    child.kill('SIGKILL');
    throw error;
  }
  if (child.pid !== undefined) pinToCpus(child.pid, '1');
  const port = ready.type === 'ready' ? ready.port : 0;
  const send = (message: ParentMessage) => child.send(message);
  return {
    config: spec.config,
    namespace: spec.namespace,
    child,
    port,
    async counters() {
      const reply = nextMessage(child, 'counters', 10_000);
      send({ type: 'counters' });
      const message = await reply;
      if (message.type !== 'counters') throw new Error('unexpected message');
      return message.counters;
    },
    async close() {
      if (child.exitCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      send({ type: 'close' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/**
 * One load: `connections` autocannon instances of one connection each, every connection with
 * its own sessions (a user's requests come one after another, never 50 at once for one
 * session). Latencies are recorded per response at full precision (autocannon's histogram keeps
 * whole milliseconds).
 */
async function load(
  port: number,
  headers: ReadonlyArray<Record<string, string>>,
  length: { readonly seconds: number } | { readonly requestsPerConnection: number },
  connections: number,
): Promise<{ ok: number; other: number; errors: number; latenciesMs: Float64Array; wallMs: number }> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  let ok = 0;
  let other = 0;
  const started = performance.now();
  const runs = Array.from({ length: connections }, (_, c) => {
    const mine = headers.filter((_, i) => i % connections === c);
    return new Promise<AutocannonResult>((resolve, reject) => {
      const instance = autocannon(
        {
          url: `http://127.0.0.1:${port}`,
          connections: 1,
          ...('seconds' in length ? { duration: length.seconds } : { amount: length.requestsPerConnection }),
          requests: (mine.length > 0 ? mine : headers).map((h) => ({ method: 'GET', path: '/me', headers: h })),
        },
        (error, result) => (error ? reject(error) : resolve(result)),
      );
      instance.on('response', (_client: unknown, statusCode: number, _bytes: number, responseTime: number) => {
        if (statusCode !== 200) {
          other++;
          return;
        }
        ok++;
        if (n === latencies.length) {
          const bigger = new Float64Array(latencies.length * 2);
          bigger.set(latencies);
          latencies = bigger;
        }
        latencies[n++] = responseTime;
      });
    });
  });
  const results = await Promise.all(runs);
  return {
    ok,
    other,
    errors: results.reduce((sum, r) => sum + r.errors, 0),
    latenciesMs: latencies.subarray(0, n),
    wallMs: performance.now() - started,
  };
}

function headerSets(config: HttpConfig, tokens: readonly string[], accessTokens: readonly string[]): Record<string, string>[] {
  const credentials = HTTP_CONFIG_INFO[config].credentials;
  return credentials === 'jwt'
    ? accessTokens.map((t) => ({ authorization: `Bearer ${t}`, 'user-agent': USER_AGENT }))
    : tokens.map((t) => ({ authorization: `Token ${t}`, 'user-agent': USER_AGENT }));
}

/** Runs the HTTP load part and returns every round of every cell, plus the medians. */
export async function runHttpLoad(options: BenchOptions, log: (line: string) => void): Promise<HttpResults> {
  const configs = (options.quick ? QUICK_HTTP_CONFIGS : HTTP_CONFIGS).filter(
    (c) => options.httpConfigs === undefined || options.httpConfigs.includes(c),
  );
  if (!configs.includes('baseline')) configs.unshift('baseline');
  const frameworks = FRAMEWORKS.filter((f) => options.frameworks === undefined || options.frameworks.includes(f));
  // autocannon stops on its one-second tick: shorter loads last a second anyway.
  const seconds = options.quick ? 1 : options.httpSeconds;
  const rounds = options.quick ? 2 : options.httpRounds;
  // --quick relies on the reheat before each measurement alone.
  const warmupSeconds = options.quick ? 0 : 1;
  const connections = 50;
  const generations = Math.min(rounds, options.quick ? 1 : 2);
  const quietWaitMs = options.quick ? 0 : 1500;
  const reheat = options.quick ? 40 : REHEAT_REQUESTS;
  const sessionCount = options.quick ? 100 : 500;

  const database = await openBenchDatabase('postgres', { label: 'http' });
  const entry = await serverEntry();
  const cells: HttpRound[] = [];
  const headlineCells: HttpRound[] = [];
  const headlineRounds = options.quick ? 4 : options.headlineRounds;
  const pinned = pinToCpus(process.pid, '0');
  log(pinned ? '  servers pinned to CPU 1, load generator to CPU 0' : '  (taskset unavailable: processes not pinned)');
  try {
    // Sessions of users 1..n, created as logins would create them; each has a JWT pair too.
    const creator = benchManager(database.store, undefined);
    const tokens: string[] = [];
    const accessTokens: string[] = [];
    for (let i = 0; i < sessionCount; i++) {
      const facts = { userId: i + 1, ip: '127.0.0.1', userAgent: USER_AGENT };
      tokens.push((await creator.createSession(facts)).token);
      accessTokens.push((await creator.createSessionWithTokens(facts)).access);
    }
    await creator.close();
    log(`  ${sessionCount} opaque sessions and ${sessionCount} JWT sessions in PostgreSQL table ${database.tableName}`);

    const runGeneration = async (
      framework: Framework,
      configs: readonly HttpConfig[],
      first: number,
      last: number,
      rounds: number,
      cells: HttpRound[],
    ): Promise<void> => {
      const servers: RunningServer[] = [];
      try {
        // A few at a time, so that none waits past its start-up timeout.
        for (let i = 0; i < configs.length; i += 4) {
          const started = await Promise.allSettled(
            configs
              .slice(i, i + 4)
              .map((config) =>
                startServer(
                  entry,
                  { framework, config, tableName: database.tableName, namespace: uniqueNamespace(`http-${config}`) },
                  options,
                ),
              ),
          );
          for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
          const failed = started.find((s): s is PromiseRejectedResult => s.status === 'rejected');
          if (failed !== undefined) throw failed.reason;
        }
        for (const server of servers) {
          // Every session once (a login would be followed by a request), then load for the JIT.
          const headers = headerSets(server.config, tokens, accessTokens);
          for (let i = 0; i < headers.length; i += 25) {
            await Promise.all(
              headers.slice(i, i + 25).map(async (h) => {
                const response = await fetch(`http://127.0.0.1:${server.port}/me`, { headers: h });
                if (response.status !== 200) throw new Error(`${framework}/${server.config}: warm-up answered ${response.status}`);
                await response.arrayBuffer();
              }),
            );
          }
          if (warmupSeconds > 0) {
            const warm = await load(server.port, headers, { seconds: warmupSeconds }, connections);
            if (warm.ok === 0) throw new Error(`${framework}/${server.config}: no successful response during warm-up`);
          }
        }
        const baseline = servers.find((s) => s.config === 'baseline') as RunningServer;
        const others = servers.filter((s) => s !== baseline);
        for (let round = first; round < last; round++) {
          // Each configuration is measured right next to a baseline measurement (before it in
          // even rounds, after it in odd ones), in an order rotated from round to round: the
          // ratio compares two loads a few seconds apart, so a burst of other work on the
          // machine spoils one pair, not a configuration.
          const order = others.map((_, i) => others[(i + round) % others.length] as RunningServer);
          const line: string[] = [];
          for (const server of order) {
            const busyBefore = await waitForQuiet(quietWaitMs);
            const pair = round % 2 === 0 ? [baseline, server] : [server, baseline];
            const measured: HttpRound[] = [];
            for (const s of pair) {
              // A server idle for a while (while the others were measured) runs its first
              // thousands of requests slower (V8 cools down idle code and heap): bring it back to
              // steady state first, as constant production traffic keeps it.
              await load(s.port, headerSets(server.config, tokens, accessTokens), { requestsPerConnection: reheat }, connections);
              measured.push(
                // The baseline carries the same headers as the configuration it is paired with, so
                // the pair differs only by the authentication work.
                await measure(framework, s, round, headerSets(server.config, tokens, accessTokens), seconds, connections, busyBefore),
              );
            }
            const base = measured.find((m) => m.config === 'baseline') as HttpRound;
            for (const m of measured) {
              m.ratioToBaseline = m.reqPerSec / base.reqPerSec;
              m.cpuRatioToBaseline = base.cpuMicrosPerRequest / m.cpuMicrosPerRequest;
              m.overheadMicros = m.cpuMicrosPerRequest - base.cpuMicrosPerRequest;
              m.pairedWith = server.config;
            }
            cells.push(...measured);
            const m = measured.find((x) => x.config !== 'baseline') as HttpRound;
            line.push(`${m.config} ${(m.ratioToBaseline * 100).toFixed(0)}% (cpu ${(m.cpuRatioToBaseline * 100).toFixed(0)}%)`);
          }
          log(`  ${framework} round ${round + 1}/${rounds}: ${line.join(', ')}`);
        }
      } finally {
        for (const server of servers) await server.close();
        for (const server of servers) await deleteNamespace(server.namespace).catch(() => 0);
      }
    };
    const runAll = async (configs: readonly HttpConfig[], rounds: number, generations: number, cells: HttpRound[]): Promise<void> => {
      for (const framework of frameworks) {
        // Fresh server processes every few rounds: a process's JIT decisions make it a little faster or slower for
        // its whole life, so each configuration is measured in several processes.
        for (let generation = 0; generation < generations; generation++) {
          const first = Math.floor((rounds * generation) / generations);
          const last = Math.floor((rounds * (generation + 1)) / generations);
          await runGeneration(framework, configs, first, last, rounds, cells);
        }
      }
    };
    await runAll(configs, rounds, generations, cells);
    // The headline rows again, alone and over many more rounds: each round pairs the token and
    // the JWT configuration with a baseline measurement carrying the same headers, so the
    // confidence intervals below come from many independent pairs.
    log(`  headline: ${HEADLINE_CONFIGS.join(', ')} over ${headlineRounds} rounds`);
    await runAll(['baseline', ...HEADLINE_CONFIGS], headlineRounds, Math.max(1, Math.round(headlineRounds / 4)), headlineCells);
  } finally {
    if (pinned) pinToCpus(process.pid, ALL_CPUS);
    rmSync(entry, { force: true });
    await database.close();
  }

  const summary: HttpCell[] = [];
  for (const framework of frameworks) {
    for (const config of configs) {
      const rs = cells.filter((c) => c.framework === framework && c.config === config);
      if (rs.length === 0) continue;
      summary.push({
        framework,
        config,
        reqPerSec: median(rs.map((r) => r.reqPerSec)),
        p50Ms: median(rs.map((r) => r.p50Ms)),
        p99Ms: median(rs.map((r) => r.p99Ms)),
        ratioToBaseline: median(rs.map((r) => r.ratioToBaseline)),
        ratioMin: Math.min(...rs.map((r) => r.ratioToBaseline)),
        ratioMax: Math.max(...rs.map((r) => r.ratioToBaseline)),
        dbQueriesPerRequest: sumRatio(rs, 'dbQueries'),
        dbReadsPerRequest: sumRatio(rs, 'dbQueries') - sumRatio(rs, 'dbWrites'),
        dbWritesPerRequest: sumRatio(rs, 'dbWrites'),
        redisCommandsPerRequest: sumRatio(rs, 'redisCommands'),
        serverCpu: median(rs.map((r) => r.serverCpu)),
        clientCpu: median(rs.map((r) => r.clientCpu)),
        cpuMicrosPerRequest: median(rs.map((r) => r.cpuMicrosPerRequest)),
        cpuRatioToBaseline: median(rs.map((r) => r.cpuRatioToBaseline)),
        failed: rs.reduce((n, r) => n + r.non200 + r.errors, 0),
      });
    }
  }
  return {
    connections,
    seconds,
    rounds,
    generations,
    quietWaitMs,
    warmupSeconds,
    sessions: sessionCount,
    frameworks: [...frameworks],
    configs,
    measurements: cells,
    cells: summary,
    headline: headlineOf(frameworks, headlineRounds, headlineCells),
  };
}

/**
 * The headline rows with 95 % confidence intervals over their rounds, and per framework the
 * JWT's overhead over its own same-header baseline minus the token's over its own, paired by
 * round (both are measured in every round).
 */
function headlineOf(frameworks: readonly Framework[], rounds: number, cells: readonly HttpRound[]): HttpHeadline {
  const rows: HeadlineRow[] = [];
  const differences: HeadlineDifference[] = [];
  for (const framework of frameworks) {
    const of = (config: HttpConfig) => cells.filter((c) => c.framework === framework && c.config === config);
    for (const config of HEADLINE_CONFIGS) {
      const rs = of(config);
      if (rs.length === 0) continue;
      const baselines = of('baseline').filter((b) => b.pairedWith === config);
      rows.push({
        framework,
        config,
        rounds: rs.length,
        ratio: meanInterval(rs.map((r) => r.ratioToBaseline)),
        cpuRatio: meanInterval(rs.map((r) => r.cpuRatioToBaseline)),
        overheadMicros: meanInterval(rs.map((r) => r.overheadMicros)),
        cpuMicrosPerRequest: median(rs.map((r) => r.cpuMicrosPerRequest)),
        baselineCpuMicrosPerRequest: median(baselines.map((r) => r.cpuMicrosPerRequest)),
        failed: rs.reduce((n, r) => n + r.non200 + r.errors, 0),
      });
    }
    const token = new Map(of('token-memory').map((r) => [r.round, r.overheadMicros]));
    const paired = of('jwt-memory').flatMap((r) => {
      const t = token.get(r.round);
      return t === undefined ? [] : [r.overheadMicros - t];
    });
    if (paired.length > 0) differences.push({ framework, jwtMinusTokenMicros: meanInterval(paired) });
  }
  return { rounds, rows, differences, measurements: [...cells] };
}

function sumRatio(rs: readonly HttpRound[], field: 'dbQueries' | 'dbWrites' | 'redisCommands'): number {
  const requests = rs.reduce((n, r) => n + r.requests, 0);
  return requests === 0 ? Number.NaN : rs.reduce((n, r) => n + r[field], 0) / requests;
}

async function measure(
  framework: Framework,
  server: RunningServer,
  round: number,
  headers: ReadonlyArray<Record<string, string>>,
  seconds: number,
  connections: number,
  busyBefore: number,
): Promise<HttpRound> {
  const before = await server.counters();
  const clientBefore = process.cpuUsage();
  const run = await load(server.port, headers, { seconds }, connections);
  const client = process.cpuUsage(clientBefore);
  const after = await server.counters();
  const wallMicros = run.wallMs * 1000;
  const latencies = Array.from(run.latenciesMs);
  return {
    framework,
    config: server.config,
    round,
    requests: run.ok,
    reqPerSec: run.ok / (run.wallMs / 1000),
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    non200: run.other,
    errors: run.errors,
    ratioToBaseline: Number.NaN,
    dbQueries: after.dbQueries - before.dbQueries,
    dbWrites: after.dbWrites - before.dbWrites,
    redisCommands: after.redisCommands - before.redisCommands,
    serverCpu: (after.cpuMicros - before.cpuMicros) / wallMicros,
    clientCpu: (client.user + client.system) / wallMicros,
    cpuMicrosPerRequest: (after.cpuMicros - before.cpuMicros) / Math.max(1, run.ok),
    cpuRatioToBaseline: Number.NaN,
    overheadMicros: Number.NaN,
    pairedWith: server.config,
    busyBefore,
  };
}
