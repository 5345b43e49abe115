// The soak's figures (bench/soak.ts) and the "Soak" section of bench/REPORT.md written from them.
// `npm run bench` rewrites the rest of that file from its own results and keeps this section.
import type { MachineFacts } from './environment.js';
import type { InstanceStats } from './soak-protocol.js';

/** One sample of one instance, `atSeconds` into the run. */
export interface SoakSample extends InstanceStats {
  readonly atSeconds: number;
}

/** Counts of the driver at one moment. */
export interface SoakProgress {
  readonly atSeconds: number;
  readonly requests: number;
  readonly tokens: number;
  readonly errors: number;
}

export interface SoakResults {
  readonly machine: MachineFacts;
  readonly command: string;
  readonly startedAt: string;
  readonly durationSeconds: number;
  /** New tokens per second asked for (1 M over the run unless told otherwise). */
  readonly targetTokenRate: number;
  readonly concurrency: number;
  /** Sign-ins (opaque tokens) and `POST token` (JWT pairs) that succeeded. */
  readonly tokens: number;
  readonly refreshes: number;
  readonly revokes: number;
  readonly requests: number;
  /** Warm requests: authenticated with one of the long-lived sessions. */
  readonly warmRequests: number;
  /** Statuses by route, as `"GET me 200"` → count; unexpected ones also in `errors`. */
  readonly statuses: Readonly<Record<string, number>>;
  readonly errors: Readonly<Record<string, number>>;
  /** A revoked token answered 200 on the other instance 100 ms after its logout. */
  readonly acceptedAfterRevoke: number;
  /** Of those, still accepted 1 s later. */
  readonly acceptedAfterRevoke1s: number;
  /** Busy share of the whole machine over the run, and the soak's own processes' share of it. */
  readonly machineBusy: number;
  readonly soakCpuShare: number;
  readonly loadAverage: readonly number[];
  readonly samples: Readonly<Record<string, readonly SoakSample[]>>;
  readonly progress: readonly SoakProgress[];
}

/** The slope of the least-squares line through `points`, in y units per x unit; NaN for fewer than 2. */
export function slope(points: ReadonlyArray<readonly [number, number]>): number {
  const n = points.length;
  if (n < 2) return Number.NaN;
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? Number.NaN : num / den;
}

/** What the report says of one instance. */
export interface InstanceSummary {
  readonly name: string;
  /** Heap after GC over the second half of the run, bytes per minute. */
  readonly heapSlopeBytesPerMin: number;
  /**
   * The same from the first sample at which the in-process tier was full (it then stays so, and
   * the live set stops growing with it); NaN when it never filled or too few samples followed.
   */
  readonly steadySlopeBytesPerMin: number;
  readonly steadyFromSeconds: number;
  readonly heapFirst: number;
  readonly heapLast: number;
  readonly maxRss: number;
  /** Heap freed by clearing the in-process tier at the end (undefined: not measured), and its entries then. */
  readonly tierBytes: number | undefined;
  readonly lastLocalSize: number;
  readonly maxLocalSize: number;
  readonly localMax: number;
  /** CPU seconds the instance used. */
  readonly cpuSeconds: number;
  readonly warnings: number;
}

export function summarizeInstance(name: string, samples: readonly SoakSample[], durationSeconds: number): InstanceSummary {
  const half = samples.filter((s) => s.atSeconds >= durationSeconds / 2);
  const last = samples.at(-1);
  const fullAt = samples.find((s) => s.localSize >= s.localMax)?.atSeconds ?? Number.NaN;
  const steady = samples.filter((s) => s.atSeconds >= fullAt);
  return {
    name,
    heapSlopeBytesPerMin: slope(half.map((s) => [s.atSeconds / 60, s.heapAfterGc] as const)),
    steadySlopeBytesPerMin: steady.length >= 3 ? slope(steady.map((s) => [s.atSeconds / 60, s.heapAfterGc] as const)) : Number.NaN,
    steadyFromSeconds: fullAt,
    heapFirst: samples[0]?.heapAfterGc ?? Number.NaN,
    heapLast: last?.heapAfterGc ?? Number.NaN,
    maxRss: Math.max(...samples.map((s) => s.rss)),
    tierBytes: last?.tierBytes,
    lastLocalSize: last?.localSize ?? 0,
    maxLocalSize: Math.max(...samples.map((s) => s.localSize)),
    localMax: last?.localMax ?? Number.NaN,
    cpuSeconds: last === undefined ? Number.NaN : (last.cpuUser + last.cpuSystem) / 1e6,
    warnings: last?.warnings ?? 0,
  };
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
const int = (n: number): string => Math.round(n).toLocaleString('en-US').replace(/,/g, ' ');
const rate = (n: number): string => (n >= 100 ? int(n) : n.toFixed(1));
const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;

function table(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]) => `| ${cells.join(' | ')} |`;
  return [line(head), line(head.map(() => '---')), ...rows.map(line)].join('\n');
}

/** The "## Soak" section, up to (not including) the next section. */
export function renderSoakSection(r: SoakResults): string {
  const names = Object.keys(r.samples);
  const instances = names.map((n) => summarizeInstance(n, r.samples[n] ?? [], r.durationSeconds));
  const minutes = r.durationSeconds / 60;
  const errorTotal = Object.values(r.errors).reduce((a, b) => a + b, 0);
  const lines: string[] = ['## Soak', ''];
  lines.push(
    `Written by \`${r.command}\` (bench/soak.ts), run ${r.startedAt}, ${int(r.durationSeconds)} s. Two app instances, each a process of its own ` +
      '(bench/soak-instance.ts: SessionManager with the defaults and JWT pairs, `createRedisSessionCache` with the defaults, `SessionApi` with its ' +
      'sign-in throttle, on Fastify), share one PostgreSQL table and one Redis namespace of their own on the shared services. The driver (this process) ' +
      `keeps up to ${r.concurrency} journeys in flight over keep-alive HTTP and starts them at the target rate: a sign-in on one instance and requests ` +
      'with the new token on both; one in ten signs out and checks 100 ms later that the other instance refuses the token; one in ten instead takes a JWT ' +
      'pair (`POST token`), uses it, refreshes it and uses the new access token; every journey also sends two warm requests with one of 1 000 long-lived ' +
      'sessions. Each instance reports its own `process.memoryUsage()` over IPC every 10 s, before and after a full GC (`--expose-gc`); the heap figures ' +
      'are after it. Password checks are a string comparison: no hashing is measured.',
    '',
  );
  lines.push(
    table(
      ['machine', ''],
      [
        ['Node.js', `${r.machine.node} (V8 ${r.machine.v8})`],
        ['CPU', `${r.machine.cores} cores, ${r.machine.cpuModel}`],
        ['memory', `${r.machine.memoryGiB} GiB`],
        ['platform', r.machine.platform],
        ['services', 'PostgreSQL and Redis on 127.0.0.1, shared with other work'],
        [
          'load',
          `the ${r.machine.cores} cores are shared with colleagues' test runs: machine busy ${pct(r.machineBusy)} over the run, ` +
            `${pct(r.soakCpuShare)} of the machine by the soak's own three processes (the rest: PostgreSQL, Redis and other work); ` +
            `load average at the end ${r.loadAverage.map((x) => x.toFixed(2)).join(', ')}`,
        ],
      ],
    ),
    '',
  );
  lines.push(
    table(
      ['figure', 'value'],
      [
        [
          'new tokens',
          `${int(r.tokens)} in ${int(r.durationSeconds)} s: ${rate(r.tokens / r.durationSeconds)}/s reached of the ${rate(r.targetTokenRate)}/s asked ` +
            `(1 M over ${minutes.toFixed(minutes < 1 ? 2 : 0)} min, ${pct(r.tokens / (r.targetTokenRate * r.durationSeconds))})`,
        ],
        ['requests', `${int(r.requests)}: ${rate(r.requests / r.durationSeconds)}/s (of them warm: ${int(r.warmRequests)})`],
        ['refreshes / sign-outs', `${int(r.refreshes)} / ${int(r.revokes)}`],
        [
          'errors',
          errorTotal === 0
            ? 'none'
            : `${int(errorTotal)} (${Object.entries(r.errors)
                .map(([k, v]) => `${k}: ${int(v)}`)
                .join(', ')})`,
        ],
        [
          'revoked token accepted by the other instance 100 ms after its sign-out (counted in errors)',
          `${int(r.acceptedAfterRevoke)} of ${int(r.revokes)}; still accepted 1.1 s after it: ${int(r.acceptedAfterRevoke1s)}`,
        ],
      ],
    ),
    '',
  );
  lines.push(
    table(
      [
        'instance',
        'heap slope, 2nd half',
        'heap slope, tier full',
        'heap after GC, first → last',
        'of it the tier at the end',
        'max RSS',
        'in-process tier, max / bound',
        'CPU',
        'log lines',
      ],
      instances.map((i) => [
        i.name,
        `${int(i.heapSlopeBytesPerMin)} bytes/min`,
        Number.isNaN(i.steadySlopeBytesPerMin)
          ? 'tier never full'
          : `${int(i.steadySlopeBytesPerMin)} bytes/min (from ${int(i.steadyFromSeconds)} s)`,
        `${mib(i.heapFirst)} → ${mib(i.heapLast)}`,
        i.tierBytes === undefined
          ? 'not measured'
          : `${mib(i.tierBytes)} (${int(i.tierBytes / Math.max(1, i.lastLocalSize))} bytes × ${int(i.lastLocalSize)} entries); the rest grew ${mib(i.heapLast - i.tierBytes - i.heapFirst)}`,
        mib(i.maxRss),
        `${int(i.maxLocalSize)} / ${int(i.localMax)}`,
        `${int(i.cpuSeconds)} s (${pct(i.cpuSeconds / r.durationSeconds)} of a core)`,
        int(i.warnings),
      ]),
    ),
    '',
  );
  lines.push(
    'The tier at the end is the heap a full GC frees once the in-process tier is cleared, after the traffic stopped: what of the growth ' +
      'the bounded tier explains. Entries in the tier count until they are evicted, expired or not (`localTtlSeconds` ends their use, ' +
      'not their memory), so the tier grows until it reaches its bound and stays there.',
    '',
  );
  lines.push('Every 30 s (heap after GC; tier = entries in the in-process tier):', '');
  const rows: string[][] = [];
  for (const p of r.progress) {
    const row = [`${int(p.atSeconds)} s`];
    for (const n of names) {
      const s = nearest(r.samples[n] ?? [], p.atSeconds);
      row.push(s === undefined ? '' : `${mib(s.rss)} / ${mib(s.heapAfterGc)} / ${int(s.localSize)}`);
    }
    row.push(int(p.requests), int(p.tokens), int(p.errors));
    rows.push(row);
  }
  lines.push(table(['t', ...names.map((n) => `${n}: RSS / heap / tier`), 'requests', 'tokens', 'errors'], rows), '');
  lines.push(
    'Statuses by route: ' +
      Object.entries(r.statuses)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `${k}: ${int(v)}`)
        .join(', ') +
      '.',
    '',
  );
  return `${lines.join('\n').trimEnd()}\n`;
}

function nearest(samples: readonly SoakSample[], atSeconds: number): SoakSample | undefined {
  let best: SoakSample | undefined;
  for (const s of samples) if (best === undefined || Math.abs(s.atSeconds - atSeconds) < Math.abs(best.atSeconds - atSeconds)) best = s;
  return best;
}

/** The "## Soak" section of a report, or undefined. */
export function soakSectionOf(markdown: string): string | undefined {
  const start = markdown.search(/^## Soak$/m);
  if (start < 0) return undefined;
  const rest = markdown.slice(start + 1);
  const next = rest.search(/^## /m);
  return `${markdown.slice(start, next < 0 ? undefined : start + 1 + next).trimEnd()}\n`;
}

/** `markdown` with its "## Soak" section replaced by `section` (appended when it has none). */
export function withSoakSection(markdown: string, section: string): string {
  const current = soakSectionOf(markdown);
  if (current === undefined) return `${markdown.trimEnd()}\n\n${section}`;
  const start = markdown.indexOf(current.trimEnd());
  return `${markdown.slice(0, start)}${section.trimEnd()}${markdown.slice(start + current.trimEnd().length)}`.replace(/\n*$/, '\n');
}
