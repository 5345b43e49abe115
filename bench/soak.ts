// `npm run soak -- --minutes N`: a long run of mixed traffic against two app instances (separate
// processes, bench/soak-instance.ts) on the shared PostgreSQL and Redis, under a table and a
// namespace of its own. It aims at 1 M distinct tokens over the run (1e6 / (60·N) new tokens per
// second), reports every 30 s and at the end the instances' RSS and heap, their in-process
// tier's size against its bound, requests done and errors by status, and at the end each
// instance's heap slope (least squares over the second half) and its largest RSS. Writes
// bench/.out/soak.json and the "Soak" section of bench/REPORT.md (unless --no-report).
// Never part of `npm test`.
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request as httpRequest } from 'node:http';
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { deleteNamespace, machineFacts, openBenchDatabase, USER_AGENT, uniqueNamespace } from './environment.js';
import { type InstanceSpec, LOCAL_MAX, type SoakInstanceMessage, type SoakParentMessage, soakPassword } from './soak-protocol.js';
import {
  mib,
  renderSoakSection,
  type SoakProgress,
  type SoakResults,
  type SoakSample,
  summarizeInstance,
  withSoakSection,
} from './soak-report.js';

const INSTANCE_ENTRY = fileURLToPath(new URL('./soak-instance.ts', import.meta.url));
const REPORT_FILE = fileURLToPath(new URL('./REPORT.md', import.meta.url));
const OUT_FILE = fileURLToPath(new URL('./.out/soak.json', import.meta.url));

const USAGE = `npm run soak -- --minutes N [flags]

  --minutes N          run for N minutes (decimals allowed), or
  --seconds S          run for S seconds
  --rate R             new tokens per second to aim at (default 1e6 / run seconds: 1 M over the run)
  --concurrency C      journeys in flight at most (default 64)
  --no-report          keep bench/REPORT.md as it is (bench/.out/soak.json is still written)
  --report-only        run nothing: write the Soak section from bench/.out/soak.json`;

interface SoakOptions {
  readonly reportOnly: boolean;
  readonly seconds: number;
  readonly rate: number;
  readonly concurrency: number;
  readonly report: boolean;
}

function parseOptions(argv: readonly string[]): SoakOptions | 'help' {
  let seconds: number | undefined;
  let rate: number | undefined;
  let concurrency = 64;
  let report = true;
  let reportOnly = false;
  const number = (flag: string, value: string | undefined): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number, got ${String(value)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i];
    if (flag === '--help' || flag === '-h') return 'help';
    else if (flag === '--minutes') seconds = number(flag, argv[++i]) * 60;
    else if (flag === '--seconds') seconds = number(flag, argv[++i]);
    else if (flag === '--rate') rate = number(flag, argv[++i]);
    else if (flag === '--concurrency') concurrency = Math.ceil(number(flag, argv[++i]));
    else if (flag === '--no-report') report = false;
    else if (flag === '--report-only') reportOnly = true;
    else throw new Error(`unknown flag ${String(flag)}`);
  }
  if (reportOnly) return { reportOnly, seconds: 0, rate: 0, concurrency, report: true };
  if (seconds === undefined) throw new Error('say how long: --minutes N or --seconds S');
  return { reportOnly, seconds, rate: rate ?? 1e6 / seconds, concurrency, report };
}

/** A running instance process. */
interface Instance {
  readonly name: string;
  readonly port: number;
  readonly child: ChildProcess;
  readonly agent: Agent;
  stats(dropTier?: boolean): Promise<Extract<SoakInstanceMessage, { type: 'stats' }>>;
  stop(): Promise<void>;
}

function startInstance(spec: InstanceSpec, concurrency: number): Promise<Instance> {
  const child = fork(INSTANCE_ENTRY, [JSON.stringify(spec)], {
    execArgv: ['--expose-gc', '--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const waiting = new Map<number, (m: Extract<SoakInstanceMessage, { type: 'stats' }>) => void>();
  let nextId = 0;
  let onStopped: (() => void) | undefined;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`instance ${spec.name} did not start`)), 120_000);
    child.once('exit', (code) => reject(new Error(`instance ${spec.name} exited with ${code}`)));
    child.on('message', (message: SoakInstanceMessage) => {
      if (message.type === 'stats') waiting.get(message.id)?.(message);
      else if (message.type === 'stopped') onStopped?.();
      else if (message.type === 'ready') {
        clearTimeout(timer);
        resolve({
          name: spec.name,
          port: message.port,
          child,
          agent: new Agent({ keepAlive: true, maxSockets: concurrency }),
          stats: (dropTier = false) =>
            new Promise((done, fail) => {
              const id = nextId++;
              const t = setTimeout(() => fail(new Error(`instance ${spec.name}: no stats within 30 s`)), 30_000);
              waiting.set(id, (m) => {
                clearTimeout(t);
                waiting.delete(id);
                done(m);
              });
              child.send({ type: 'stats', id, dropTier } satisfies SoakParentMessage);
            }),
          stop: () =>
            new Promise<void>((done) => {
              if (child.exitCode !== null) return done();
              const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
              child.once('exit', () => {
                clearTimeout(t);
                done();
              });
              onStopped = () => undefined;
              child.send({ type: 'stop' } satisfies SoakParentMessage);
            }),
        });
      }
    });
  });
}

/** What the driver saw of one response. `status` 0: no answer (a network error or a 10 s timeout). */
interface Answer {
  readonly status: number;
  readonly json: unknown;
}

function call(instance: Instance, method: string, path: string, options: { auth?: string; body?: unknown } = {}): Promise<Answer> {
  const body = options.body === undefined ? undefined : JSON.stringify(options.body);
  const headers: Record<string, string | number> = { 'user-agent': USER_AGENT };
  if (options.auth !== undefined) headers.authorization = options.auth;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(body);
  }
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port: instance.port, method, path, headers, agent: instance.agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        let json: unknown;
        try {
          json = chunks.length === 0 ? undefined : JSON.parse(Buffer.concat(chunks).toString('utf8'));
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
      res.on('error', () => resolve({ status: 0, json: undefined }));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ status: 0, json: undefined }));
    if (body !== undefined) req.write(body);
    req.end();
  });
}

/** The traffic, its counters, and what is expected of each answer. */
class Driver {
  readonly statuses = new Map<string, number>();
  readonly errors = new Map<string, number>();
  requests = 0;
  warmRequests = 0;
  tokens = 0;
  refreshes = 0;
  revokes = 0;
  acceptedAfterRevoke = 0;
  acceptedAfterRevoke1s = 0;
  /** Revoke checks scheduled and not yet answered. */
  readonly #pendingChecks = new Set<Promise<void>>();
  readonly #instances: readonly [Instance, Instance];
  readonly #users: number;
  #longLived: string[] = [];
  #n = 0;

  constructor(instances: readonly [Instance, Instance], users: number) {
    this.#instances = instances;
    this.#users = users;
  }

  get errorCount(): number {
    let n = 0;
    for (const v of this.errors.values()) n += v;
    return n;
  }

  async #send(
    route: string,
    expected: number,
    instance: Instance,
    method: string,
    path: string,
    options: { auth?: string; body?: unknown } = {},
  ) {
    const answer = await call(instance, method, path, options);
    this.requests++;
    const key = `${route} ${answer.status}`;
    this.statuses.set(key, (this.statuses.get(key) ?? 0) + 1);
    if (answer.status !== expected) this.errors.set(key, (this.errors.get(key) ?? 0) + 1);
    return answer;
  }

  #user(): { username: string; password: string } {
    const id = 1 + Math.floor(Math.random() * this.#users);
    return { username: `user${id}`, password: soakPassword(id) };
  }

  #at(i: number): Instance {
    return i % 2 === 0 ? this.#instances[0] : this.#instances[1];
  }

  /** Signs in `count` long-lived sessions, used by every journey's warm requests. */
  async prepare(count: number): Promise<void> {
    for (let i = 0; i < count; i++) {
      const { json } = await this.#send('POST login', 200, this.#at(i), 'POST', '/api/login', { body: this.#user() });
      const token = (json as { token?: string } | undefined)?.token;
      if (token !== undefined) this.#longLived.push(`Token ${token}`);
    }
    if (this.#longLived.length === 0) throw new Error('no long-lived session could be signed in');
  }

  /** One user's journey; see the report for the mix. */
  async journey(): Promise<void> {
    const n = this.#n++;
    const first = Math.random() < 0.5 ? 0 : 1;
    const x = this.#at(first);
    const y = this.#at(first + 1);
    if (n % 10 === 5) await this.#jwtJourney(x, y);
    else await this.#tokenJourney(x, y, n % 10 === 0);
    for (let i = 0; i < 2; i++) {
      const auth = this.#longLived[Math.floor(Math.random() * this.#longLived.length)] as string;
      this.warmRequests++;
      await this.#send('GET me (warm)', 200, this.#at(i), 'GET', '/api/me', { auth });
    }
  }

  async #tokenJourney(x: Instance, y: Instance, signOut: boolean): Promise<void> {
    const { json } = await this.#send('POST login', 200, x, 'POST', '/api/login', { body: this.#user() });
    const token = (json as { token?: string } | undefined)?.token;
    if (token === undefined) return;
    this.tokens++;
    const auth = `Token ${token}`;
    await this.#send('GET me', 200, x, 'GET', '/api/me', { auth });
    await this.#send('GET me', 200, y, 'GET', '/api/me', { auth });
    if (!signOut) return;
    const { status } = await this.#send('POST logout', 204, x, 'POST', '/api/logout', { auth });
    if (status !== 204) return;
    this.revokes++;
    // Checked later, off the journey: the other instance must have dropped its copy by then.
    const check = new Promise<void>((resolve) => setTimeout(resolve, 100))
      .then(() => this.#send('GET me (revoked)', 401, y, 'GET', '/api/me', { auth }))
      .then(async ({ status: after }) => {
        if (after !== 200) return;
        this.acceptedAfterRevoke++;
        // Late (the message was still on its way, on a starved machine) or for good?
        await sleep(1000);
        if ((await this.#send('GET me (revoked, 1 s)', 401, y, 'GET', '/api/me', { auth })).status === 200) this.acceptedAfterRevoke1s++;
      });
    this.#pendingChecks.add(check);
    void check.finally(() => this.#pendingChecks.delete(check));
  }

  async #jwtJourney(x: Instance, y: Instance): Promise<void> {
    const { json } = await this.#send('POST token', 200, x, 'POST', '/api/token', { body: this.#user() });
    const pair = json as { access?: string; refresh?: string } | undefined;
    if (pair?.access === undefined || pair.refresh === undefined) return;
    this.tokens++;
    await this.#send('GET me (jwt)', 200, y, 'GET', '/api/me', { auth: `Bearer ${pair.access}` });
    const refreshed = await this.#send('POST token/refresh', 200, y, 'POST', '/api/token/refresh', { body: { refresh: pair.refresh } });
    const access = (refreshed.json as { access?: string } | undefined)?.access;
    if (access === undefined) return;
    this.refreshes++;
    await this.#send('GET me (jwt)', 200, x, 'GET', '/api/me', { auth: `Bearer ${access}` });
  }

  async settle(): Promise<void> {
    await Promise.all([...this.#pendingChecks]);
  }
}

/** Busy and total jiffies of all CPUs (Linux); undefined elsewhere. */
function cpuTimes(): { busy: number; total: number } | undefined {
  try {
    const fields = (readFileSync('/proc/stat', 'utf8').split('\n', 1)[0] ?? '').trim().split(/\s+/).slice(1).map(Number);
    const total = fields.reduce((a, b) => a + b, 0);
    return { busy: total - (fields[3] ?? 0) - (fields[4] ?? 0), total };
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function main(): Promise<void> {
  let options: SoakOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const log = (line: string) => process.stdout.write(`${line}\n`);
  if (options.reportOnly) {
    const results = JSON.parse(readFileSync(OUT_FILE, 'utf8')) as SoakResults;
    writeFileSync(REPORT_FILE, withSoakSection(readFileSync(REPORT_FILE, 'utf8'), renderSoakSection(results)));
    log(`wrote bench/REPORT.md (section "Soak") from ${OUT_FILE}`);
    return;
  }
  const machine = machineFacts();
  const startedAt = new Date().toISOString();
  const command = `npm run soak${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`;
  log(
    `nilva-session soak — ${options.seconds} s, aiming at ${options.rate.toFixed(1)} new tokens/s, ${machine.cores} cores (${machine.cpuModel})`,
  );

  const database = await openBenchDatabase('postgres', { label: 'soak' });
  const namespace = uniqueNamespace('soak');
  const instances: Instance[] = [];
  try {
    for (const name of ['A', 'B'])
      instances.push(await startInstance({ name, tableName: database.tableName, namespace }, options.concurrency));
    const pair = instances as [Instance, Instance];
    log(`table ${database.tableName}, namespace ${namespace}; instances on ports ${pair.map((i) => i.port).join(', ')}`);
    const driver = new Driver(pair, 20_000);
    await driver.prepare(1000);

    const samples: Record<string, SoakSample[]> = { A: [], B: [] };
    const progress: SoakProgress[] = [];
    const cpu0 = cpuTimes();
    const own0 = process.cpuUsage();
    const t0 = performance.now();
    const elapsed = () => (performance.now() - t0) / 1000;
    const sample = async (dropTier = false): Promise<void> => {
      const at = elapsed();
      for (const instance of pair) {
        const { type: _type, id: _id, ...stats } = await instance.stats(dropTier);
        samples[instance.name]?.push({ atSeconds: at, ...stats });
      }
    };
    const line = (at: number): void => {
      const parts = pair.map((i) => {
        const s = samples[i.name]?.at(-1);
        return s === undefined ? '' : `${i.name} rss ${mib(s.rss)} heap ${mib(s.heapAfterGc)} tier ${s.localSize}/${s.localMax}`;
      });
      const errors = [...driver.errors].map(([k, v]) => `${k}: ${v}`).join(', ');
      log(
        `${at.toFixed(0).padStart(5)} s  ${parts.join('  |  ')}  |  ${driver.requests} requests, ${driver.tokens} tokens ` +
          `(${(driver.tokens / Math.max(at, 1e-9)).toFixed(1)}/s), errors ${driver.errorCount}${errors === '' ? '' : ` (${errors})`}`,
      );
    };
    await sample();

    // Journeys start at the target rate, at most `concurrency` at once; a backlog beyond one
    // second is dropped, so the rate reached is what the machine could do, not a burst later.
    let started = 0;
    let inFlight = 0;
    const running = new Set<Promise<void>>();
    let nextSample = 10;
    let nextLine = 30;
    while (elapsed() < options.seconds) {
      const due = Math.floor(elapsed() * options.rate);
      if (due - started > options.rate) started = due - Math.ceil(options.rate);
      while (started < due && inFlight < options.concurrency) {
        started++;
        inFlight++;
        const j = driver.journey().finally(() => {
          inFlight--;
          running.delete(j);
        });
        running.add(j);
      }
      if (elapsed() >= nextSample) {
        nextSample += 10;
        await sample();
        if (elapsed() >= nextLine - 1) {
          progress.push({ atSeconds: nextLine, requests: driver.requests, tokens: driver.tokens, errors: driver.errorCount });
          line(nextLine);
          nextLine += 30;
        }
      }
      await sleep(inFlight >= options.concurrency ? 2 : 5);
    }
    await Promise.all([...running]);
    await driver.settle();
    const durationSeconds = elapsed();
    // The last one also weighs the in-process tier, which it then clears: traffic has stopped.
    await sample(true);
    progress.push({ atSeconds: durationSeconds, requests: driver.requests, tokens: driver.tokens, errors: driver.errorCount });
    line(durationSeconds);
    const cpu1 = cpuTimes();
    const own = process.cpuUsage(own0);
    const machineBusy = cpu0 === undefined || cpu1 === undefined ? Number.NaN : (cpu1.busy - cpu0.busy) / (cpu1.total - cpu0.total);
    const instanceCpu = pair.reduce((sum, i) => {
      const first = samples[i.name]?.[0];
      const last = samples[i.name]?.at(-1);
      return sum + (first === undefined || last === undefined ? 0 : last.cpuUser + last.cpuSystem - first.cpuUser - first.cpuSystem);
    }, 0);
    const soakCpuShare = (instanceCpu + own.user + own.system) / 1e6 / (durationSeconds * machine.cores);

    const results: SoakResults = {
      machine,
      command,
      startedAt,
      durationSeconds,
      targetTokenRate: options.rate,
      concurrency: options.concurrency,
      tokens: driver.tokens,
      refreshes: driver.refreshes,
      revokes: driver.revokes,
      requests: driver.requests,
      warmRequests: driver.warmRequests,
      statuses: Object.fromEntries(driver.statuses),
      errors: Object.fromEntries(driver.errors),
      acceptedAfterRevoke: driver.acceptedAfterRevoke,
      acceptedAfterRevoke1s: driver.acceptedAfterRevoke1s,
      machineBusy,
      soakCpuShare,
      loadAverage: loadavg(),
      samples,
      progress,
    };
    log('');
    for (const i of pair) {
      const s = summarizeInstance(i.name, samples[i.name] ?? [], durationSeconds);
      log(
        `${i.name}: heap slope over the second half ${Math.round(s.heapSlopeBytesPerMin)} bytes/min, ` +
          `once the tier was full ${Number.isNaN(s.steadySlopeBytesPerMin) ? '(never full)' : `${Math.round(s.steadySlopeBytesPerMin)} bytes/min (from ${Math.round(s.steadyFromSeconds)} s)`} ` +
          `(${mib(s.heapFirst)} → ${mib(s.heapLast)} after GC), ` +
          `max RSS ${mib(s.maxRss)}, in-process tier at most ${s.maxLocalSize} of ${LOCAL_MAX}, CPU ${s.cpuSeconds.toFixed(0)} s, ${s.warnings} log lines`,
      );
    }
    log(
      `${driver.tokens} new tokens (${(driver.tokens / durationSeconds).toFixed(1)}/s of ${options.rate.toFixed(1)}/s asked), ` +
        `${driver.requests} requests (${(driver.requests / durationSeconds).toFixed(0)}/s), errors ${driver.errorCount}, ` +
        `revoked tokens accepted 100 ms later: ${driver.acceptedAfterRevoke} (1.1 s later: ${driver.acceptedAfterRevoke1s}); machine busy ${(machineBusy * 100).toFixed(0)} %, ` +
        `the soak's processes ${(soakCpuShare * 100).toFixed(0)} % of it`,
    );
    mkdirSync(dirname(OUT_FILE), { recursive: true });
    writeFileSync(OUT_FILE, `${JSON.stringify(results, null, 2)}\n`);
    log(`wrote ${OUT_FILE}`);
    if (options.report) {
      writeFileSync(REPORT_FILE, withSoakSection(readFileSync(REPORT_FILE, 'utf8'), renderSoakSection(results)));
      log('wrote bench/REPORT.md (section "Soak")');
    }
    if (driver.errorCount > 0) process.exitCode = 1;
  } finally {
    await Promise.all(instances.map((i) => i.stop()));
    for (const i of instances) i.agent.destroy();
    await deleteNamespace(namespace).catch(() => undefined);
    await database.close();
  }
}

await main();
