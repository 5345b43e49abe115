// Writes bench/REPORT.md and bench/chart.svg from the measured results. Every figure comes from
// results.json; the targets are judged here from those figures.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type Framework, HTTP_CONFIG_INFO, type HttpConfig } from './http-configs.js';
import type { BenchResults, HttpCell, HttpHeadline, HttpResults, Interval, MicroRow } from './results.js';
import { scaleSection, scaleTargets } from './scale-report.js';
import { soakSectionOf, withSoakSection } from './soak-report.js';
import { formatCount, formatMs, formatNs, formatPercent, median } from './stats.js';

const benchDir = fileURLToPath(new URL('.', import.meta.url));

/** One target of the issue, judged. */
export interface TargetVerdict {
  readonly target: string;
  readonly figure: string;
  readonly verdict: 'met' | 'missed' | 'not measured';
}

function cell(http: HttpResults | undefined, framework: Framework, config: HttpConfig): HttpCell | undefined {
  return http?.cells.find((c) => c.framework === framework && c.config === config);
}

function roundsOf(http: HttpResults, framework: Framework, config: HttpConfig): number[] {
  return http.measurements.filter((m) => m.framework === framework && m.config === config).map((m) => m.ratioToBaseline);
}

/** `76.1 % (74.0–78.2 %, ±2.1 points)`: a ratio's mean and 95 % confidence interval. */
function formatInterval(i: Interval): string {
  if (!Number.isFinite(i.halfWidth)) return formatPercent(i.mean);
  return `${formatPercent(i.mean)} (${(i.low * 100).toFixed(1)}–${(i.high * 100).toFixed(1)} %, ±${(i.halfWidth * 100).toFixed(1)} points)`;
}

function formatMicrosInterval(i: Interval): string {
  if (!Number.isFinite(i.halfWidth)) return `${i.mean.toFixed(2)} µs`;
  return `${i.mean.toFixed(2)} µs (±${i.halfWidth.toFixed(2)})`;
}

/** The headline rows measured again over many rounds, with their confidence intervals. */
function headlineSection(headline: HttpHeadline): string {
  const rows = headline.rows.map((r) => [
    r.framework,
    HTTP_CONFIG_INFO[r.config].label,
    String(r.rounds),
    formatInterval(r.cpuRatio),
    formatInterval(r.ratio),
    r.baselineCpuMicrosPerRequest.toFixed(1),
    r.cpuMicrosPerRequest.toFixed(1),
    formatMicrosInterval(r.overheadMicros),
    String(r.failed),
  ]);
  const diffs = headline.differences.map((d) => [
    d.framework,
    `${d.jwtMinusTokenMicros.mean.toFixed(2)} µs`,
    `${d.jwtMinusTokenMicros.low.toFixed(2)} to ${d.jwtMinusTokenMicros.high.toFixed(2)} µs`,
    String(d.jwtMinusTokenMicros.n),
  ]);
  return [
    '### Headline rows, with confidence intervals',
    '',
    `The token and JWT configurations (warm in-process cache) again, alone with the baseline and over ${headline.rounds} rounds, ` +
      'in server processes started afresh every 4 rounds. In every round each of them is measured right next to a baseline measurement ' +
      'that carries the same headers (a 50-character token, or a ~300-character JWT). A ratio is the paired baseline’s server CPU per ' +
      'request over the configuration’s — the throughput a saturated server would show; the load generator shares the machine, so ' +
      'req/s ratios also move with it — given as the mean over rounds with its 95 % confidence interval (Student’s t). ' +
      '"Overhead" is the configuration’s server CPU per request minus its paired baseline’s.',
    '',
    table(
      [
        'framework',
        'configuration',
        'rounds',
        'by CPU/request (95 % CI)',
        'by req/s (95 % CI)',
        'baseline CPU µs/req',
        'CPU µs/req',
        'overhead µs (±95 % CI)',
        'non-200',
      ],
      rows,
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
    ),
    '',
    'The JWT’s overhead minus the token’s, paired by round:',
    '',
    table(['framework', 'JWT − token', '95 % CI', 'rounds'], diffs, ['l', 'r', 'r', 'r']),
  ].join('\n');
}

export function judgeTargets(results: BenchResults): TargetVerdict[] {
  const verdicts: TargetVerdict[] = [];
  const http = results.http;
  const headline = http?.headline;
  for (const [config, goal, what] of [
    ['token-memory', 0.85, 'opaque token'],
    ['jwt-memory', 0.7, 'JWT'],
  ] as const) {
    const row = headline?.rows.find((r) => r.framework === 'fastify' && r.config === config);
    if (row !== undefined) {
      verdicts.push({
        target: `Fastify, warm in-process cache, ${what}: ≥ ${goal * 100} % of the unauthenticated baseline's throughput (by server CPU per request, same headers)`,
        figure:
          `${formatInterval(row.cpuRatio)} (mean of ${row.rounds} paired rounds, 95 % CI); by req/s in the same rounds ${formatInterval(row.ratio)}; ` +
          `${row.cpuMicrosPerRequest.toFixed(1)} µs of server CPU per request against the baseline's ${row.baselineCpuMicrosPerRequest.toFixed(1)} µs`,
        verdict: row.cpuRatio.mean >= goal ? 'met' : 'missed',
      });
      continue;
    }
    const c = cell(http, 'fastify', config);
    const target = `Fastify, warm in-process cache, ${what}: ≥ ${goal * 100} % of the unauthenticated baseline's req/s in the same round`;
    if (c === undefined || http === undefined) {
      verdicts.push({ target, figure: '—', verdict: 'not measured' });
      continue;
    }
    verdicts.push({
      target,
      figure:
        `${formatPercent(c.ratioToBaseline)} (median of ${roundsOf(http, 'fastify', config).length} rounds; ` +
        `rounds ${formatPercent(c.ratioMin)}–${formatPercent(c.ratioMax)}; by server CPU per request ${formatPercent(c.cpuRatioToBaseline)})`,
      verdict: c.ratioToBaseline >= goal ? 'met' : 'missed',
    });
  }
  if (headline !== undefined) {
    const rows = headline.rows.filter((r) => r.framework === 'fastify');
    const target = 'Headline ratios reproducible: 95 % confidence interval within ±3 points for the Fastify token and JWT rows';
    const widest = Math.max(...rows.map((r) => r.cpuRatio.halfWidth));
    verdicts.push({
      target,
      figure:
        rows.length === 0
          ? '—'
          : rows.map((r) => `${HTTP_CONFIG_INFO[r.config].label} ±${(r.cpuRatio.halfWidth * 100).toFixed(1)} points`).join(', ') +
            ` (by server CPU per request, ${rows[0]?.rounds} rounds; by req/s: ${rows.map((r) => `±${(r.ratio.halfWidth * 100).toFixed(1)}`).join(', ')})`,
      verdict: rows.length === 2 && widest <= 0.03 ? 'met' : rows.length === 0 ? 'not measured' : 'missed',
    });
    for (const framework of http?.frameworks ?? []) {
      const d = headline.differences.find((x) => x.framework === framework);
      const token = headline.rows.find((r) => r.framework === framework && r.config === 'token-memory');
      const jwt = headline.rows.find((r) => r.framework === framework && r.config === 'jwt-memory');
      const target = `${framework}: a warm JWT request's server CPU over its own same-header baseline within 1 µs of a token request's`;
      if (d === undefined || token === undefined || jwt === undefined) {
        verdicts.push({ target, figure: '—', verdict: 'not measured' });
        continue;
      }
      const m = d.jwtMinusTokenMicros;
      verdicts.push({
        target,
        figure:
          `token +${token.overheadMicros.mean.toFixed(2)} µs, JWT +${jwt.overheadMicros.mean.toFixed(2)} µs; ` +
          `JWT − token ${m.mean >= 0 ? '+' : ''}${m.mean.toFixed(2)} µs (95 % CI ${m.low.toFixed(2)} to ${m.high.toFixed(2)} µs, ${m.n} paired rounds)`,
        verdict: Math.abs(m.mean) <= 1 ? 'met' : 'missed',
      });
    }
  }
  {
    const target = 'Two-tier cache, warm: zero database queries and at most one Redis round trip per request';
    const cells = (http?.cells ?? []).filter((c) => c.config === 'token-tiered' || c.config === 'jwt-tiered');
    if (cells.length === 0) verdicts.push({ target, figure: '—', verdict: 'not measured' });
    else {
      const reads = Math.max(...cells.map((c) => c.dbReadsPerRequest));
      const writes = Math.max(...cells.map((c) => c.dbWritesPerRequest));
      const redis = Math.max(...cells.map((c) => c.redisCommandsPerRequest));
      verdicts.push({
        target,
        figure:
          `${reads === 0 ? '0' : reads.toFixed(5)} database reads and at most ${redis.toFixed(4)} Redis commands per request ` +
          `(worst of ${cells.length} framework × scheme cells, all rounds; the only database statements are the throttled ` +
          `last_online writes, ${writes.toFixed(5)} per request, judged by the write target below)`,
        verdict: reads === 0 && redis <= 1 ? 'met' : 'missed',
      });
    }
  }
  {
    const target = 'Zero network round trips when the in-process tier hits';
    const rows = (results.micro?.rows ?? []).filter((r) => r.name.includes('in-process tier hit'));
    if (rows.length === 0) verdicts.push({ target, figure: '—', verdict: 'not measured' });
    else {
      const network = Math.max(...rows.map((r) => (r.redisPerOp ?? 0) + (r.dbPerOp ?? 0)));
      const sync = rows.every((r) => r.synchronous === true);
      verdicts.push({
        target,
        figure: `${network} Redis commands + database statements per authentication over every call of the two-tier hit rows; answered synchronously: ${sync ? 'yes' : 'no'}`,
        verdict: network === 0 && sync ? 'met' : 'missed',
      });
    }
  }
  {
    const w = results.writes;
    const target = '≤ 1 database write per session per touchIntervalSeconds at steady state';
    verdicts.push(
      w === undefined
        ? { target, figure: '—', verdict: 'not measured' }
        : {
            target,
            figure: `at most ${w.maxRowWritesPerSessionPerInterval} row write per session per ${w.touchIntervalSeconds} s (mean ${w.meanRowWritesPerSessionPerInterval.toFixed(2)}); ${w.writeStatementsPer1000Requests.toFixed(2)} write statements per 1,000 requests`,
            verdict: w.maxRowWritesPerSessionPerInterval <= 1 ? 'met' : 'missed',
          },
    );
  }
  verdicts.push(...scaleTargets(results.scale));
  {
    const p = results.propagation;
    const target = 'Revocation propagation p99 < 50 ms between two instances';
    verdicts.push(
      p === undefined
        ? { target, figure: '—', verdict: 'not measured' }
        : {
            target,
            figure: `p99 ${formatMs(p.endToEnd.p99Ms)} (p50 ${formatMs(p.endToEnd.p50Ms)}) over ${p.received}/${p.revocations} revocations, database write included; accepted after the message: ${p.acceptedAfterRevoke}`,
            verdict: p.received === p.revocations && p.endToEnd.p99Ms < 50 && p.acceptedAfterRevoke === 0 ? 'met' : 'missed',
          },
    );
  }
  return verdicts;
}

// ---------------------------------------------------------------------------------------
// SVG chart: ratio to the baseline, per framework and configuration.

const COLORS: Readonly<Record<HttpConfig, string>> = {
  baseline: '#9e9e9e',
  'noop-hook': '#bdbdbd',
  'minimal-hook': '#8c8c8c',
  'jose-jwt': '#c0504d',
  'token-memory': '#1f77b4',
  'jwt-memory': '#4a9fd8',
  'token-tiered': '#2ca02c',
  'jwt-tiered': '#72c472',
  'token-redis': '#ff7f0e',
  'jwt-redis': '#ffb066',
  'token-db': '#7f3c8d',
};

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderChart(http: HttpResults): string {
  const barHeight = 16;
  const gap = 4;
  const groupGap = 26;
  const left = 250;
  const width = 820;
  const plotWidth = width - left - 70;
  const maxRatio = Math.max(1.1, ...http.cells.map((c) => c.ratioToBaseline));
  const x = (ratio: number) => left + (ratio / maxRatio) * plotWidth;
  let y = 56;
  const parts: string[] = [];
  for (const framework of http.frameworks) {
    const cells = http.configs.map((config) => cell(http, framework, config)).filter((c): c is HttpCell => c !== undefined);
    parts.push(`<text x="10" y="${y + 12}" font-weight="bold" font-size="13">${framework}</text>`);
    y += 20;
    for (const c of cells) {
      const w = Math.max(1, x(c.ratioToBaseline) - left);
      const reqs = formatCount(c.reqPerSec);
      parts.push(
        `<text x="${left - 8}" y="${y + 12}" text-anchor="end" font-size="12">${escapeXml(HTTP_CONFIG_INFO[c.config].label)}</text>`,
        `<rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${barHeight}" fill="${COLORS[c.config]}"><title>${escapeXml(
          `${framework}, ${HTTP_CONFIG_INFO[c.config].label}: ${reqs} req/s, ${formatPercent(c.ratioToBaseline)} of baseline (rounds ${formatPercent(c.ratioMin)}–${formatPercent(c.ratioMax)})`,
        )}</title></rect>`,
        `<line x1="${x(c.ratioMin).toFixed(1)}" x2="${x(c.ratioMax).toFixed(1)}" y1="${y + barHeight / 2}" y2="${y + barHeight / 2}" stroke="#333" stroke-width="1"/>`,
        `<text x="${(left + w + 6).toFixed(1)}" y="${y + 12}" font-size="11">${(c.ratioToBaseline * 100).toFixed(0)} % · ${reqs}/s</text>`,
      );
      y += barHeight + gap;
    }
    y += groupGap - gap;
  }
  const height = y + 30;
  const guides = [
    [1, '100 %'],
    [0.85, 'token target 85 %'],
    [0.7, 'JWT target 70 %'],
  ] as const;
  const guideLines = guides.map(
    ([ratio, label]) =>
      `<line x1="${x(ratio).toFixed(1)}" x2="${x(ratio).toFixed(1)}" y1="44" y2="${height - 24}" stroke="#555" stroke-dasharray="4 3" stroke-width="1"/>` +
      `<text x="${x(ratio).toFixed(1)}" y="${height - 10}" text-anchor="middle" font-size="10" fill="#555">${label}</text>`,
  );
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" role="img" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    '<title>nilva-session: HTTP throughput of each configuration relative to no authentication, per framework</title>',
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="22" font-size="15" font-weight="bold">Throughput relative to no authentication (median of ${http.rounds} interleaved rounds)</text>`,
    `<text x="10" y="38" font-size="11" fill="#444">GET /me, ${http.connections} connections, ${http.seconds} s per measurement; whiskers: lowest and highest round</text>`,
    ...guideLines,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

// ---------------------------------------------------------------------------------------
// Markdown

function table(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align?: readonly ('l' | 'r')[]): string {
  const sep = header.map((_, i) => ((align?.[i] ?? 'l') === 'r' ? '---:' : '---'));
  return [header, sep, ...rows].map((r) => `| ${r.join(' | ')} |`).join('\n');
}

function perOp(value: number | undefined): string {
  if (value === undefined) return '';
  return Number.isInteger(value) ? String(value) : value.toFixed(3);
}

function microSection(rows: readonly MicroRow[]): string {
  const groups = [...new Set(rows.map((r) => r.group))];
  return groups
    .map((group) => {
      const body = rows
        .filter((r) => r.group === group)
        .map((r) => [
          r.name + (r.note === undefined ? '' : ` — ${r.note}`),
          formatNs(r.avgNs),
          formatNs(r.p50Ns),
          formatNs(r.p99Ns),
          perOp(r.dbPerOp),
          perOp(r.redisPerOp),
          r.synchronous === undefined ? '' : r.synchronous ? 'yes' : 'no',
        ]);
      return `### ${group}\n\n${table(['operation', 'avg', 'p50', 'p99', 'DB stmts/op', 'Redis cmds/op', 'sync'], body, ['l', 'r', 'r', 'r', 'r', 'r', 'l'])}`;
    })
    .join('\n\n');
}

function httpSection(http: HttpResults): string {
  const out: string[] = [];
  for (const framework of http.frameworks) {
    const rows = http.configs
      .map((config) => cell(http, framework, config))
      .filter((c): c is HttpCell => c !== undefined)
      .map((c) => [
        HTTP_CONFIG_INFO[c.config].label,
        formatCount(c.reqPerSec),
        formatPercent(c.ratioToBaseline),
        `${formatPercent(c.ratioMin)}–${formatPercent(c.ratioMax)}`,
        formatPercent(c.cpuRatioToBaseline),
        c.cpuMicrosPerRequest.toFixed(1),
        c.p50Ms.toFixed(2),
        c.p99Ms.toFixed(2),
        c.dbReadsPerRequest.toFixed(4),
        c.dbWritesPerRequest.toFixed(4),
        c.redisCommandsPerRequest.toFixed(4),
        String(c.failed),
      ]);
    out.push(
      `### ${framework}\n\n${table(
        [
          'configuration',
          'req/s',
          'ratio to baseline',
          'rounds (min–max)',
          'by CPU/request',
          'server CPU µs/req',
          'p50 ms',
          'p99 ms',
          'DB reads/req',
          'DB writes/req',
          'Redis cmds/req',
          'non-200',
        ],
        rows,
        ['l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      )}`,
    );
  }
  const fastifyRounds = (['minimal-hook', 'token-memory', 'jwt-memory', 'jose-jwt'] as const)
    .filter((c) => http.configs.includes(c))
    .map((c) => [
      HTTP_CONFIG_INFO[c].label,
      roundsOf(http, 'fastify', c)
        .map((r) => `${(r * 100).toFixed(0)} %`)
        .join(', '),
    ]);
  if (http.frameworks.includes('fastify') && fastifyRounds.length > 0) {
    out.push(
      `Every Fastify round, for the targets (ratio to that round's baseline):\n\n${table(['configuration', 'rounds'], fastifyRounds)}`,
    );
  }
  const busy = http.measurements.map((m) => m.busyBefore).filter((b) => Number.isFinite(b));
  if (busy.length > 0) {
    out.push(
      `Other work on the machine just before each measurement (share of both cores busy while the benchmark was idle): ` +
        `median ${formatPercent(median(busy))}, highest ${formatPercent(Math.max(...busy))}. ` +
        `Median server CPU use during a measurement: ${formatPercent(median(http.measurements.map((m) => m.serverCpu)))} of one core; load generator ${formatPercent(median(http.measurements.map((m) => m.clientCpu)))}.`,
    );
  }
  return out.join('\n\n');
}

/** Where the Fastify request time goes, from the HTTP, micro and profile figures of this run. */
function readingTheFigures(results: BenchResults): string | undefined {
  const http = results.http;
  const us = (config: HttpConfig) => cell(http, 'fastify', config)?.cpuMicrosPerRequest;
  const [b, e, m, t, j, s] = (['baseline', 'noop-hook', 'minimal-hook', 'token-memory', 'jwt-memory', 'jose-jwt'] as const).map(us);
  if (b === undefined || m === undefined || t === undefined || j === undefined) return undefined;
  const micro = results.micro?.rows ?? [];
  const warmToken = micro.find((r) => r.name === 'opaque token, MemorySessionCache');
  const warmJwt = micro.find((r) => r.name === 'JWT (verified before), MemorySessionCache');
  const share = (server: string) => {
    const p = results.profile?.servers.find((x) => x.server === server);
    return p === undefined
      ? undefined
      : (p.categories['nilva-session (src/)'] ?? 0) + (p.categories['library dependencies (jose, lru-cache)'] ?? 0);
  };
  const headlineOf = (config: HttpConfig) =>
    http?.headline?.rows.find((r) => r.framework === 'fastify' && r.config === config)?.overheadMicros.mean;
  const headlineToken = headlineOf('token-memory');
  const headlineJwt = headlineToken === undefined ? undefined : headlineOf('jwt-memory');
  const pt = share('fastify-token-memory');
  const pj = share('fastify-jwt-memory');
  const f = (x: number) => x.toFixed(1);
  const parts = [
    `On Fastify, the server process spends ${f(b)} µs of CPU per request with no authentication` +
      (e === undefined ? '' : `, ${f(e)} µs with an empty hook`) +
      `, ${f(m)} µs with the hand-written sha256 + Map hook, ${f(t)} µs with a nilva opaque token and ${f(j)} µs with a nilva JWT` +
      (s === undefined ? '' : ` (a stateless jose-verified JWT: ${f(s)} µs)`) +
      '. Throughput follows: the ratios are close to the baseline’s CPU per request over the configuration’s.',
    `So a nilva token request costs ${f(t - b)} µs more than no authentication, of which ${f(m - b)} µs is paid by the least ` +
      `possible hand-written check too (reading the header, hashing the token in native code, an async hook), and ${f(t - m)} µs is nilva's own: the expiry, idle, user and user-agent checks, the touch ` +
      `bookkeeping and the LRU.` +
      (headlineJwt === undefined
        ? ` A JWT request costs ${f(j - t)} µs more than a token request, before subtracting the cost of its longer header (its paired baseline sends the same header).`
        : ` A JWT request costs ${f(j - t)} µs more than a token request in this table, but most of that is its ~300-byte header, which ` +
          `costs the unauthenticated server as much: over their own same-header baselines (headline rows below) a JWT request costs ` +
          `${headlineJwt.toFixed(2)} µs and a token request ${(headlineToken as number).toFixed(2)} µs.`),
  ];
  if (warmToken !== undefined && warmJwt !== undefined) {
    parts.push(
      `Called in a loop (per-operation table), \`SessionApi.authenticate\` takes ${formatNs(warmToken.avgNs)} for a token and ` +
        `${formatNs(warmJwt.avgNs)} for a JWT; the JWT's extra is mostly its memo key, a SHA-256 of the whole ~300-character token, and the expiry check of the remembered claims.` +
        (pt === undefined || pj === undefined
          ? ''
          : ` In the CPU profiles nilva-session's code and its dependencies take ${formatPercent(pt)} (token) and ${formatPercent(pj)} (JWT) of the server's busy time; Node's HTTP and socket code and native work take most of the rest, as without authentication.`),
    );
  }
  parts.push(
    'Two-tier rows: every server gets unmeasured requests right before it is measured, so its in-process tier is fresh and ' +
      'the measured slices send no Redis command; a session idle for longer than `localTtlSeconds` (30 s) costs one Redis round ' +
      'trip on its next request (per-operation row "two-tier, in-process tier cold, Redis warm").',
  );
  return parts.join('\n\n');
}

export function renderReport(results: BenchResults): string {
  const m = results.machine;
  const verdicts = judgeTargets(results);
  const runs = results.partRuns ?? {};
  const lines: string[] = [];
  lines.push('# nilva-session benchmarks', '');
  // How long a full run takes is this run's own figure when it was one; --quick was timed once by hand.
  const minutes = (seconds: number): number => Math.max(1, Math.round(seconds / 60));
  const fullRun =
    !results.quick && runs.scale !== undefined && runs.scale.measuredAt >= results.startedAt
      ? `every part: about ${minutes(results.durationSeconds)} minutes here, ${minutes(runs.scale.seconds)} of them the 10 M-row scale part`
      : 'every part, the 10 M-row scale part included: about 40 minutes';
  lines.push(
    `Generated by \`${results.command}\` (bench/run.ts); every figure below was measured by that run${
      // ISO 8601 timestamps in UTC order as strings do; a part measured before this run began was kept from an earlier one.
      Object.values(runs).some((r) => r !== undefined && r.measuredAt < results.startedAt)
        ? ' or by the earlier run named in the parts table'
        : ''
    }. Reproduce with \`npm run bench\` (${fullRun}) or \`npm run bench -- --quick\` (under 4 minutes: 3 min 48 s here).`,
    '',
  );
  lines.push(
    table(
      ['machine', ''],
      [
        ['Node.js', `${m.node} (V8 ${m.v8})`],
        ['CPU', `${m.cores} cores, ${m.cpuModel}`],
        ['memory', `${m.memoryGiB} GiB`],
        ['platform', m.platform],
        ['services', 'PostgreSQL, MariaDB and Redis on 127.0.0.1; SQLite in memory'],
        ['run', `${results.startedAt}${results.quick ? ', --quick' : ''}, ${results.durationSeconds} s`],
      ],
    ),
    '',
  );
  const partRows = Object.entries(runs).map(([part, r]) => [
    part,
    r?.measuredAt ?? '',
    r?.quick ? 'quick' : 'full',
    `${r?.seconds ?? ''} s`,
  ]);
  if (partRows.length > 0) lines.push(table(['part', 'measured at', 'mode', 'took'], partRows), '');

  lines.push('## Targets', '');
  lines.push(
    table(
      ['target', 'measured', 'verdict'],
      verdicts.map((v) => [v.target, v.figure, v.verdict === 'met' ? '**met**' : v.verdict === 'missed' ? '**missed**' : v.verdict]),
    ),
    '',
  );

  const reading = readingTheFigures(results);
  if (reading !== undefined) lines.push('## Reading the figures', '', reading, '');

  if (results.http !== undefined) {
    const h = results.http;
    lines.push('## HTTP load', '');
    lines.push(
      `![ratio to baseline](chart.svg)`,
      '',
      `\`GET /me\` answering \`{"user": …}\`, on each of Express 5, Fastify 5 and Hono (node-server). Each configuration runs in a server ` +
        `process of its own on 127.0.0.1, pinned to core 1; the load generator (autocannon 9 in the benchmark process, pinned to core 0) keeps ` +
        `${h.connections} connections open, each with its own sessions out of ${h.sessions} (a user's requests follow one another), every request ` +
        `carrying the session's User-Agent. Per framework, server processes are started afresh ${h.generations === 1 ? 'once' : `${h.generations} times (a process's JIT luck stays with it for its life)`}; ` +
        `each time every session is requested once${h.warmupSeconds > 0 ? ` and every server is loaded for ${h.warmupSeconds} s` : ''}, then rounds follow. ` +
        `In a round each configuration is measured for ${h.seconds} s right next to a ${h.seconds} s measurement of the baseline (before it in even ` +
        `rounds, after it in odd ones; the configurations' order rotates from round to round; each server first gets ` +
        `${h.quietWaitMs > 0 ? 100 : 40} unmeasured requests per connection, since a server left idle while the others were measured runs slower until V8 has ` +
        `warmed it again)${h.quietWaitMs > 0 ? `, after waiting up to ${h.quietWaitMs / 1000} s for other work on the machine to stop` : ''}. A configuration's ratio is its req/s over that adjacent baseline's; the tables give the median of ${h.rounds} rounds and ` +
        `the lowest and highest. The baseline sends the same headers as the configuration it is paired with. "By CPU/request" is the baseline's ` +
        `server CPU time per request over this configuration's: the ratio a saturated server would show. PostgreSQL is the store behind every ` +
        `nilva configuration; database statements and Redis commands are counted in the server process (Kysely's query log, the Redis ` +
        `client's sendCommand) and divided by the 200 responses. The baseline row's CPU per request is the median over all its measurements, ` +
        `whichever configuration's headers they carried; each configuration's "by CPU/request" uses its own paired, same-header baseline. ` +
        `The server children run the library as an application ships it: bundled by esbuild into plain JavaScript and started by \`node\` ` +
        `alone (not through tsx, whose function-name helper ran on every closure the library creates).`,
      '',
      'Two yardsticks frame the nilva rows: an empty hook (what the framework charges for a hook at all) and the least a token check can do ' +
        'by hand (hash the token, look it up in a Map).',
      '',
      table(
        ['configuration', 'what it is'],
        h.configs.map((c) => [HTTP_CONFIG_INFO[c].label, HTTP_CONFIG_INFO[c].description]),
      ),
      '',
      httpSection(h),
      '',
    );
    if (h.headline !== undefined) lines.push(headlineSection(h.headline), '');
  }

  if (results.micro !== undefined) {
    lines.push('## Per operation', '');
    lines.push(
      'mitata for repeatable operations; cold rows walk sessions that this process has never seen (one sample each, after 20 unmeasured ones). ' +
        'Warm rows call `SessionApi.authenticate`, which is what every integration calls per request. ' +
        '"sync" says whether it answered without a promise. Statements and Redis commands are counted over every call of the row.',
      '',
      microSection(results.micro.rows),
      '',
    );
  }

  if (results.writes !== undefined) {
    const w = results.writes;
    lines.push('## Writes at steady state', '');
    lines.push(
      `${formatCount(w.requests)} authenticated requests from ${w.sessions} sessions (${w.requestsPerSessionPerSecond} requests per session per second, logins spread over one touch interval) ` +
        `over ${w.simulatedSeconds / 60} minutes of simulated time (an injected clock), against ${w.store}; the touch buffer flushed every simulated second (its default). ` +
        `touchIntervalSeconds = ${w.touchIntervalSeconds}.`,
      '',
      table(
        ['measure', 'value'],
        [
          ['write statements', `${w.writeStatements} (${w.writeStatementsPer1000Requests.toFixed(2)} per 1,000 requests)`],
          ['all statements (reads included)', String(w.statements)],
          ['`last_online` row writes', `${w.rowWrites} (${w.rowWritesPer1000Requests.toFixed(2)} per 1,000 requests)`],
          [
            'row writes per session per touch interval',
            `at most ${w.maxRowWritesPerSessionPerInterval}, mean ${w.meanRowWritesPerSessionPerInterval.toFixed(2)}`,
          ],
          ['largest `last_online` lag at the end', `${w.maxLastOnlineLagSeconds.toFixed(1)} s`],
        ],
      ),
      '',
    );
  }

  if (results.scale !== undefined) lines.push(scaleSection(results.scale), '');

  if (results.propagation !== undefined) {
    const p = results.propagation;
    lines.push('## Revocation propagation', '');
    lines.push(
      'Two instances, each a process with its own `createRedisSessionCache` on one namespace and one PostgreSQL table. Instance B ' +
        'authenticates every session once (they sit in its in-process tier); instance A then revokes them one at a time. The time ' +
        "is from the start of A's `revokeSession` (its database write included) until B's cache has dropped the session; B then " +
        'authenticates the token again and must refuse it.',
      '',
      table(
        ['measure', 'p50', 'p99', 'max'],
        [
          ['revokeSession start → B dropped it', formatMs(p.endToEnd.p50Ms), formatMs(p.endToEnd.p99Ms), formatMs(p.endToEnd.maxMs)],
          [
            'database write done → B dropped it',
            formatMs(p.afterStoreWrite.p50Ms),
            formatMs(p.afterStoreWrite.p99Ms),
            formatMs(p.afterStoreWrite.maxMs),
          ],
        ],
      ),
      '',
      `${p.received} of ${p.revocations} revocations arrived; B accepted ${p.acceptedAfterRevoke} of them afterwards.`,
      '',
    );
  }
  const profiled = results.profile?.servers ?? [];
  if (profiled.length > 0) {
    const cats = [...new Set(profiled.flatMap((p) => Object.keys(p.categories)))].sort();
    lines.push('## Where the server time goes (CPU profiles)', '');
    lines.push(
      'A separate short Fastify load with `node --cpu-prof` on each server (`npm run bench -- --only profile`; summarised by ' +
        "bench/profile-summary.ts). Shares of each server's sampled busy time, by where the code lives.",
      '',
      table(
        ['category', ...profiled.map((p) => p.server.replace(/^fastify-/, ''))],
        cats.map((c) => [c, ...profiled.map((p) => formatPercent(p.categories[c] ?? 0))]),
        ['l', ...profiled.map(() => 'r' as const)],
      ),
      '',
    );
    for (const p of profiled.filter((x) => x.library.length > 0 && /token|jwt/.test(x.server))) {
      lines.push(
        `Costliest library functions in ${p.server}: ${p.library
          .slice(0, 6)
          .map((f) => `${f.name} ${formatPercent(f.share)}`)
          .join(', ')}.`,
        '',
      );
    }
  }
  return `${lines.join('\n').trimEnd()}\n`;
}

/** The "## <title>" section of a report (up to the next section), or undefined. */
function sectionOf(markdown: string, title: string): string | undefined {
  const start = markdown.indexOf(`\n## ${title}\n`);
  if (start < 0) return undefined;
  const rest = markdown.slice(start + 1);
  const next = rest.slice(1).search(/^## /m);
  return `${(next < 0 ? rest : rest.slice(0, next + 1)).trimEnd()}\n`;
}

/**
 * Writes bench/REPORT.md and, with HTTP results, bench/chart.svg. Returns the files written. The
 * "Soak" section (written by `npm run soak`, from figures this run does not have) is kept, and
 * so is "Redis Cluster failover" (from a test).
 */
export function writeReport(results: BenchResults): string[] {
  const written: string[] = [];
  const file = `${benchDir}REPORT.md`;
  const previous = existsSync(file) ? readFileSync(file, 'utf8') : undefined;
  const soak = previous === undefined ? undefined : soakSectionOf(previous);
  // Measured by test/integration/cache-redis-cluster-failover.test.ts, not by this run: kept.
  const failover = previous === undefined ? undefined : sectionOf(previous, 'Redis Cluster failover');
  const report = renderReport(results);
  const withSoak = soak === undefined ? report : withSoakSection(report, soak);
  writeFileSync(file, failover === undefined ? withSoak : `${withSoak.trimEnd()}\n\n${failover}`);
  written.push('bench/REPORT.md');
  if (results.http !== undefined) {
    writeFileSync(`${benchDir}chart.svg`, renderChart(results.http));
    written.push('bench/chart.svg');
  }
  return written;
}
