// Command-line flags of `npm run bench`.
import { fileURLToPath } from 'node:url';
import { FRAMEWORKS, type Framework, HTTP_CONFIGS, type HttpConfig } from './http-configs.js';

export const PARTS = ['micro', 'http', 'writes', 'scale', 'propagation', 'profile'] as const;
export type Part = (typeof PARTS)[number];

export interface BenchOptions {
  readonly parts: readonly Part[];
  /** A shorter run (a few minutes): fewer rounds, shorter loads, scale up to 100 k. */
  readonly quick: boolean;
  /** Largest PostgreSQL table of the scale part. */
  readonly scaleMax: number;
  readonly httpSeconds: number;
  readonly httpRounds: number;
  /** Rounds of the headline measurement (Fastify, Express and Hono: baseline, token and JWT in process). */
  readonly headlineRounds: number;
  readonly frameworks: readonly Framework[] | undefined;
  readonly httpConfigs: readonly HttpConfig[] | undefined;
  /** Write a V8 CPU profile of every HTTP server child into `profileDir`. */
  readonly profile: boolean;
  readonly profileDir: string;
  /** Where results.json goes (merged with the parts of earlier runs). */
  readonly outDir: string;
  /** Write bench/REPORT.md and bench/chart.svg. */
  readonly report: boolean;
  /** Run nothing: write the report from bench/.out/results.json. */
  readonly reportOnly: boolean;
}

export const USAGE = `npm run bench -- [flags]

  --only PARTS         comma-separated: ${PARTS.join(', ')} (default: all; --quick skips profile)
  --quick              a short run (about 3 minutes): fewer rounds, shorter loads, scale up to 100 k
  --scale-max N        largest PostgreSQL table for the scale part, of 10000, 100000, 1000000, 10000000
                       (default 10000000; quick: 100000)
  --http-seconds S     seconds per measured load, whole seconds (default 1)
  --http-rounds N      interleaved rounds (default 4; quick: 2)
  --headline-rounds N  rounds of the headline rows, token and JWT next to their baselines (default 16; quick: 4)
  --frameworks LIST    of ${FRAMEWORKS.join(', ')}
  --configs LIST       of ${HTTP_CONFIGS.join(', ')} (the baseline always runs)
  --profile            write a CPU profile of each HTTP server to bench/.out/profiles (the profile part does)
  --no-report          keep bench/REPORT.md and bench/chart.svg as they are
  --report-only        measure nothing: write them from bench/.out/results.json
  --help`;

const benchDir = fileURLToPath(new URL('.', import.meta.url));

function list<T extends string>(flag: string, value: string | undefined, allowed: readonly T[]): T[] {
  if (value === undefined) throw new Error(`${flag} needs a value`);
  const items = value.split(',').map((v) => v.trim());
  for (const item of items) if (!(allowed as readonly string[]).includes(item)) throw new Error(`${flag}: unknown "${item}"`);
  return items as T[];
}

function positiveNumber(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0) throw new Error(`${flag} needs a positive number`);
  return n;
}

/** Parses argv (without node and the script). Throws with a message on a bad flag. */
export function parseOptions(argv: readonly string[]): BenchOptions | 'help' {
  let parts: readonly Part[] | undefined;
  let quick = false;
  let scaleMax: number | undefined;
  let httpSeconds = 1;
  let httpRounds = 4;
  let headlineRounds = 16;
  let frameworks: Framework[] | undefined;
  let httpConfigs: HttpConfig[] | undefined;
  let profile = false;
  let report = true;
  let reportOnly = false;
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i] as string;
    const [name, inline] = flag.includes('=') ? [flag.slice(0, flag.indexOf('=')), flag.slice(flag.indexOf('=') + 1)] : [flag, undefined];
    const value = () => inline ?? argv[++i];
    switch (name) {
      case '--only':
        parts = list(name, value(), PARTS);
        break;
      case '--quick':
        quick = true;
        break;
      case '--scale-max':
        scaleMax = Math.trunc(positiveNumber(name, value()));
        break;
      case '--http-seconds':
        httpSeconds = positiveNumber(name, value());
        break;
      case '--http-rounds':
        httpRounds = Math.trunc(positiveNumber(name, value()));
        break;
      case '--headline-rounds':
        headlineRounds = Math.max(2, Math.trunc(positiveNumber(name, value())));
        break;
      case '--frameworks':
        frameworks = list(name, value(), FRAMEWORKS);
        break;
      case '--configs':
        httpConfigs = list(name, value(), HTTP_CONFIGS);
        break;
      case '--profile':
        profile = true;
        break;
      case '--no-report':
        report = false;
        break;
      case '--report-only':
        reportOnly = true;
        break;
      case '--help':
      case '-h':
        return 'help';
      default:
        throw new Error(`unknown flag ${flag}`);
    }
  }
  return {
    parts: parts ?? (quick ? PARTS.filter((p) => p !== 'profile') : PARTS),
    quick,
    scaleMax: scaleMax ?? (quick ? 100_000 : 10_000_000),
    httpSeconds,
    httpRounds,
    headlineRounds,
    frameworks,
    httpConfigs,
    profile,
    profileDir: `${benchDir}.out/profiles`,
    outDir: `${benchDir}.out`,
    report,
    reportOnly,
  };
}
