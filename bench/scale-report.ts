// The scale part's targets and its section of bench/REPORT.md, from results.json's `scale`.
import type { TargetVerdict } from './report.js';
import type { PurgeRun, ScaleLatency, ScaleResults, ScaleRow, ScaleView } from './results.js';
import { formatCount, formatMs } from './stats.js';

/** The size the targets are stated at. */
const TARGET_SESSIONS = 10_000_000;
/** A page of a list (GET active, the admin list): a small share of an interactive answer's 100 ms. */
const PAGE_P99_MS = 25;
/** The bound on a login's wait while the purge runs. */
const LOGIN_WAIT_MS = 50;

function sizeLabel(sessions: number): string {
  return sessions >= 1_000_000 ? `${sessions / 1_000_000} M` : sessions >= 1000 ? `${sessions / 1000} k` : String(sessions);
}

function postgresRows(scale: ScaleResults | undefined): ScaleRow[] {
  return (scale?.rows ?? []).filter((r) => (r.dialect ?? 'postgres') === 'postgres');
}

function view(row: ScaleRow | undefined, request: (r: string) => boolean): ScaleView | undefined {
  return row?.views?.find((v) => request(v.request));
}

function notAt10M(target: string, rows: readonly ScaleRow[]): TargetVerdict {
  const largest = rows.at(-1);
  return {
    target,
    figure:
      largest === undefined ? '—' : `measured up to ${sizeLabel(largest.sessions)} sessions only (run without --quick and --scale-max)`,
    verdict: 'not measured',
  };
}

const p99 = (l: ScaleLatency) => formatMs(l.p99Ms);
const maxOf = (l: ScaleLatency) => formatMs(l.maxMs ?? Number.NaN);

export function scaleTargets(scale: ScaleResults | undefined): TargetVerdict[] {
  const rows = postgresRows(scale);
  const at10M = rows.find((r) => r.sessions === TARGET_SESSIONS);
  const verdicts: TargetVerdict[] = [];
  {
    const target = 'Cold lookup p99 flat (within 2×) from 10 k to 10 M sessions (PostgreSQL)';
    const first = rows.find((r) => r.sessions === 10_000);
    if (first === undefined || at10M === undefined) verdicts.push(notAt10M(target, rows));
    else {
      const byKey = at10M.lookupByKey.p99Ms / first.lookupByKey.p99Ms;
      const byId = at10M.lookupById.p99Ms / first.lookupById.p99Ms;
      const series = (pick: (r: ScaleRow) => ScaleLatency) => rows.map((r) => `${sizeLabel(r.sessions)} ${p99(pick(r))}`).join(', ');
      verdicts.push({
        target,
        figure:
          `by token hash ${series((r) => r.lookupByKey)} (×${byKey.toFixed(2)}); ` +
          `by session id ${series((r) => r.lookupById)} (×${byId.toFixed(2)}); ${at10M.lookupByKey.samples} lookups each`,
        verdict: byKey <= 2 && byId <= 2 ? 'met' : 'missed',
      });
    }
  }
  {
    const target = `\`GET active?limit=50\` of a user with 10,000 sessions among 10 M: first and last page p99 ≤ ${PAGE_P99_MS} ms`;
    const first = view(at10M, (r) => r === 'GET active?limit=50');
    const last = view(at10M, (r) => r.startsWith('GET active?limit=50&cursor='));
    if (first === undefined || last === undefined) verdicts.push(notAt10M(target, rows));
    else {
      const whole = view(at10M, (r) => r === 'GET active');
      verdicts.push({
        target,
        figure:
          `first page p99 ${p99(first)} (p50 ${formatMs(first.p50Ms)}), last page p99 ${p99(last)} (p50 ${formatMs(last.p50Ms)})` +
          (whole === undefined ? '' : `; the whole list (the contract's default answer) p99 ${p99(whole)}`),
        verdict: first.p99Ms <= PAGE_P99_MS && last.p99Ms <= PAGE_P99_MS ? 'met' : 'missed',
      });
    }
  }
  {
    const target = `Admin session list at 10 M: first page and a page halfway down p99 ≤ ${PAGE_P99_MS} ms`;
    const first = view(at10M, (r) => r === 'GET /admin');
    const deep = view(at10M, (r) => r.startsWith('GET /admin?cursor='));
    if (first === undefined || deep === undefined) verdicts.push(notAt10M(target, rows));
    else {
      verdicts.push({
        target,
        figure: `first page p99 ${p99(first)}, halfway down p99 ${p99(deep)}`,
        verdict: first.p99Ms <= PAGE_P99_MS && deep.p99Ms <= PAGE_P99_MS ? 'met' : 'missed',
      });
    }
  }
  const runs = at10M?.purgeRuns ?? [];
  if (runs.length === 0) {
    verdicts.push(notAt10M(`Purge of 5 M expired rows at 10 M: a concurrent login waits at most ${LOGIN_WAIT_MS} ms (p99 and max)`, rows));
  }
  const mariadb = (scale?.rows ?? []).filter((r) => r.dialect === 'mysql');
  const judged = [
    ...runs.map((run) => ({ run, where: 'at 10 M' })),
    ...mariadb.flatMap((r) => (r.purgeRuns ?? []).map((run) => ({ run, where: `on MariaDB at ${sizeLabel(r.sessions)}` }))),
  ];
  for (const { run, where } of judged) {
    verdicts.push({
      target: `Purge ${where}, ${run.scope} (${settingsOf(run)}): a concurrent login waits at most ${LOGIN_WAIT_MS} ms (p99 and max)`,
      figure:
        `${formatCount(run.deleted)} rows in ${run.seconds.toFixed(0)} s; logins during it p99 ${p99(run.loginDuring)}, max ${maxOf(run.loginDuring)}, ` +
        `${run.loginsOverTarget} of ${formatCount(run.loginDuring.samples)} over ${LOGIN_WAIT_MS} ms (before it: p99 ${p99(run.loginBefore)}, max ${maxOf(run.loginBefore)})`,
      verdict:
        run.loginDuring.p99Ms <= LOGIN_WAIT_MS && (run.loginDuring.maxMs ?? Number.POSITIVE_INFINITY) <= LOGIN_WAIT_MS ? 'met' : 'missed',
    });
  }
  return verdicts;
}

/** Why MariaDB stops at its size: what 10 M would cost at the rates measured. */
function mariadbScope(mariadb: readonly ScaleRow[]): string {
  const largest = mariadb.at(-1);
  const paced = largest?.purgeRuns?.find((r) => r.pauseMs > 0);
  if (largest === undefined || paced === undefined) return '';
  const purgeMinutes = 5_000_000 / paced.rowsPerSecond / 60;
  const loadMinutes = ((largest.insertSeconds + (largest.indexSeconds ?? 0)) * (TARGET_SESSIONS / largest.sessions)) / 60;
  return (
    `Not at 10 M: at the rates measured here, loading 10 M rows would take about ${loadMinutes.toFixed(0)} minutes and the ` +
    `default-paced purge of 5 M about ${purgeMinutes.toFixed(0)} minutes, on top of the PostgreSQL tables, on two cores.`
  );
}

/** Why logins wait while the purge runs, with this run's own figures. */
function readingThePurge(scale: ScaleResults, purged: readonly ScaleRow[]): string {
  const largest = purged.at(-1) as ScaleRow;
  const fast = largest.purgeRuns?.find((r) => r.pauseMs === 0);
  const perRow = fast?.walMiB === undefined || fast.deleted === 0 ? undefined : (fast.walMiB * 2 ** 20) / fast.deleted;
  const settings = scale.postgresSettings;
  const server =
    settings === undefined
      ? ''
      : ` This server: \`max_wal_size\` ${settings.max_wal_size}, \`checkpoint_timeout\` ${settings.checkpoint_timeout}, ` +
        `\`shared_buffers\` ${settings.shared_buffers}, \`synchronous_commit\` ${settings.synchronous_commit}, ` +
        `\`full_page_writes\` ${settings.full_page_writes}, \`wal_compression\` ${settings.wal_compression}, ` +
        `\`autovacuum\` ${settings.autovacuum}${settings.autovacuum === 'off' ? ' (so no vacuum ran during or after the purge)' : ''}.`;
  return (
    'A login never waits for the purge’s locks: the purge deletes expired rows only, a login inserts a new one, and on ' +
    'PostgreSQL each batch takes its rows `FOR UPDATE SKIP LOCKED`. What a login does wait for is its commit’s WAL flush, ' +
    'which shares the disk with the checkpoints the purge’s WAL brings on: PostgreSQL starts one whenever about half of ' +
    '`max_wal_size` of WAL has been written since the last' +
    (perRow === undefined || fast === undefined
      ? ''
      : `, and at full speed the purge of ${sizeLabel(largest.sessions)} wrote ${formatCount(perRow)} bytes of WAL per deleted row ` +
        `(the first change of each page after a checkpoint is logged whole), ${fast.checkpoints ?? 'n/a'} checkpoints in ${fast.seconds.toFixed(0)} s`) +
    '. While this benchmark was written, PostgreSQL’s log put the slow logins of full-speed runs in the last second of ' +
    'checkpoints, when they flush the data files. The pause between batches spreads the same writes over more time: ' +
    'checkpoints come less often and the operating system has written most of their pages before they flush.' +
    server
  );
}

function settingsOf(run: PurgeRun): string {
  return run.pauseMs === 0 ? `batches of ${run.batchSize}, no pause` : `batches of ${run.batchSize}, ${run.pauseMs} ms apart`;
}

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

const lat = (l: ScaleLatency) => `${formatMs(l.p50Ms)} / ${formatMs(l.p99Ms)} / ${formatMs(l.maxMs ?? Number.NaN)}`;

function lookupTable(rows: readonly ScaleRow[], indexLabel: string): string {
  return table(
    ['sessions', 'table + indexes', 'insert', indexLabel, 'by token hash p50', 'p99', 'by session id p50', 'p99', 'lookups'],
    rows.map((r) => [
      formatCount(r.sessions),
      `${r.tableMiB.toFixed(0)} MiB`,
      `${r.insertSeconds.toFixed(1)} s`,
      r.indexSeconds === undefined ? '' : `${r.indexSeconds.toFixed(1)} s`,
      formatMs(r.lookupByKey.p50Ms),
      formatMs(r.lookupByKey.p99Ms),
      formatMs(r.lookupById.p50Ms),
      formatMs(r.lookupById.p99Ms),
      String(r.lookupByKey.samples),
    ]),
    ['r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** The views of every size with views, one column per size; undefined without any. */
function viewsTable(rows: readonly ScaleRow[]): string | undefined {
  const withViews = rows.filter((r) => (r.views?.length ?? 0) > 0);
  const reference = withViews.at(-1);
  if (reference === undefined) return undefined;
  const key = (v: ScaleView) => `${v.group}:${v.name.split(' (')[0]}`;
  return table(
    ['answer', 'request', 'rows', ...withViews.map((r) => `${sizeLabel(r.sessions)}: p50 / p99`)],
    (reference.views ?? []).map((v) => [
      `${v.group === 'admin' ? 'admin: ' : ''}${v.name}`,
      `\`${v.request.replace(/cursor=[A-Za-z0-9_-]+/, 'cursor=…')}\``,
      formatCount(v.rows),
      ...withViews.map((r) => {
        const same = r.views?.find((w) => key(w) === key(v));
        return same === undefined ? '' : `${formatMs(same.p50Ms)} / ${formatMs(same.p99Ms)}`;
      }),
    ]),
    ['l', 'l', 'r', ...withViews.map(() => 'r' as const)],
  );
}

function purgeTable(rows: readonly ScaleRow[], withWal: boolean): string {
  const wal = withWal ? ['WAL', 'checkpoints'] : [];
  return table(
    [
      'sessions',
      'rows',
      'settings',
      'deleted',
      'time',
      'rows/s',
      'batch p99',
      ...wal,
      'login before',
      'login during',
      `logins > ${LOGIN_WAIT_MS} ms`,
      'cold authenticate before',
      'during',
      'machine busy before',
    ],
    rows.flatMap((r) =>
      (r.purgeRuns ?? []).map((run) => [
        formatCount(r.sessions),
        run.scope.replace(/ of the expired rows$/, ''),
        settingsOf(run),
        formatCount(run.deleted),
        `${run.seconds.toFixed(1)} s`,
        formatCount(run.rowsPerSecond),
        formatMs(run.batchMs.p99Ms),
        ...(withWal
          ? [run.walMiB === undefined ? '' : `${formatCount(run.walMiB)} MiB`, run.checkpoints === undefined ? '' : String(run.checkpoints)]
          : []),
        lat(run.loginBefore),
        lat(run.loginDuring),
        `${run.loginsOverTarget} of ${formatCount(run.loginDuring.samples)}`,
        lat(run.authBefore),
        lat(run.authDuring),
        `${Math.round(run.busyBefore * 100)} %`,
      ]),
    ),
    ['r', 'l', 'l', 'r', 'r', 'r', 'r', ...wal.map(() => 'r' as const), 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

/** The "Scale" section: PostgreSQL up to 10 M, MariaDB at one size. */
export function scaleSection(scale: ScaleResults): string {
  const rows = postgresRows(scale);
  const mariadb = scale.rows.filter((r) => r.dialect === 'mysql');
  const out: string[] = ['## Scale (PostgreSQL, MariaDB)', ''];
  out.push(
    'Session tables of each size, their own, bulk-loaded (bench/scale-load.ts). PostgreSQL: the migration’s indexes and unique ' +
      'constraints dropped, the rows inserted with `INSERT … SELECT … FROM generate_series` in chunks of 500 k on two connections, ' +
      'every index built again from its own definition, then `VACUUM ANALYZE` (as autovacuum would have left an old table) and a ' +
      '`CHECKPOINT`. The sessions were created evenly over 60 days, in that order, and live 30 days: the older half has expired; ' +
      'one live session in ten was logged out; five sessions per user, and from 100 k rows on one user with 10,000 live sessions ' +
      'spread over the last 30 days; `last_online` between creation and now, `last_ip` a pseudo-random 10.x.y.z. The table is ' +
      'dropped afterwards.',
    '',
    'Cold lookups authenticate sessions this process has not cached (store read, user load, cache fill), each once, by opaque ' +
      'token (key hash) and by session id (the JWT path).',
    '',
    lookupTable(rows, 'indexes + VACUUM'),
    '',
  );
  const views = viewsTable(rows);
  if (views !== undefined) {
    out.push(
      '### A user with 10,000 sessions: `GET active` and the admin pages',
      '',
      '`GET active` through `SessionApi.handle` (what every integration calls; no HTTP), authenticated by one of the user’s ' +
        'own sessions (warm in the cache), so the figure is the list’s store query and its JSON. The admin pages through ' +
        '`SessionPages.handle` with the same user as staff, rendering the HTML page; pages of 50. p50 / p99 per table size.',
      '',
      views,
      '',
    );
  }
  const purged = rows.filter((r) => (r.purgeRuns?.length ?? 0) > 0);
  if (purged.length > 0) {
    out.push(
      '### Purge with logins running',
      '',
      'The purge runs in a process of its own as `nilva-session purge` runs it (`connectDatabase`, `KyselySessionStore`, ' +
        '`SessionManager` without a cache, `purgeExpired`; bench/scale-purger.ts), in two runs: the older half of the expired rows ' +
        'as fast as the database can (`--pause-ms 0`, the only pace before the pause existed), then the rest with the defaults ' +
        '(batches of 1000, 50 ms apart). Meanwhile this process logs a user in every 10 ms (`createSession`: a login’s store ' +
        'write) and authenticates a random session through a manager without a cache (a cold `authenticate`), for a few seconds ' +
        'before the purge and all through it; each run starts after a `CHECKPOINT`, so that the writes before it are not flushed ' +
        'during it. Latencies are p50 / p99 / max. WAL is what PostgreSQL wrote while the purge ran ' +
        '(the logins’ included); checkpoints, how many it made meanwhile.',
      '',
      purgeTable(purged, true),
      '',
      readingThePurge(scale, purged),
      '',
    );
  }
  if (mariadb.length > 0) {
    out.push(
      `### MariaDB (${mariadb.map((r) => sizeLabel(r.sessions)).join(', ')})`,
      '',
      'The same sessions, loaded from the sequence engine (`seq_1_to_N`) with the secondary indexes dropped and added again in one ' +
        '`ALTER TABLE`, then `ANALYZE TABLE`; ids are MariaDB’s `uuid()`. The purge takes the MySQL path of `deleteExpired` (a ' +
        'batch found without locking, then locked by primary key and deleted). ' +
        mariadbScope(mariadb),
      '',
      'Cold lookups:',
      '',
      lookupTable(mariadb, 'indexes'),
      '',
      'A user with 10,000 sessions, p50 / p99:',
      '',
      viewsTable(mariadb) ?? '',
      '',
      'Purge with logins running, as above (p50 / p99 / max):',
      '',
      purgeTable(mariadb, false),
      '',
    );
  }
  out.push(
    `Memory: ${formatCount(scale.memory.sessions)} sessions in \`MemorySessionCache\` take ${(scale.memory.heapBytes / 2 ** 20).toFixed(1)} MiB of heap ` +
      `(${Math.round(scale.memory.bytesPerSession)} bytes each: the entry with its own id, hash, IP and User-Agent strings, a small user object, and the LRU and id-index bookkeeping).`,
  );
  return out.join('\n');
}
