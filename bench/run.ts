// `npm run bench`: runs the benchmark parts against the real services, keeps the figures in
// bench/.out/results.json (parts run now replace those of earlier runs) and writes
// bench/REPORT.md and bench/chart.svg from them. Never part of `npm test`.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { machineFacts } from './environment.js';
import { runHttpLoad } from './http-load.js';
import { runMicro } from './micro.js';
import { type BenchOptions, parseOptions, USAGE } from './options.js';
import { runProfile } from './profile.js';
import { runPropagation } from './propagation.js';
import { writeReport } from './report.js';
import type { BenchResults } from './results.js';
import { runScale } from './scale.js';
import { runWrites } from './writes.js';

function log(line: string): void {
  process.stdout.write(`${line}\n`);
}

async function main(): Promise<void> {
  let options: BenchOptions | 'help';
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (options === 'help') {
    log(USAGE);
    return;
  }
  if (options.profile) mkdirSync(options.profileDir, { recursive: true });
  mkdirSync(options.outDir, { recursive: true });
  const resultsFile = `${options.outDir}/results.json`;
  const previous: Partial<BenchResults> = existsSync(resultsFile) ? (JSON.parse(readFileSync(resultsFile, 'utf8')) as BenchResults) : {};
  if (options.reportOnly) {
    if (previous.machine === undefined) throw new Error(`no results in ${resultsFile}: run the benchmarks first`);
    log(`wrote ${writeReport(previous as BenchResults).join(', ')}`);
    return;
  }
  const started = performance.now();
  const startedAt = new Date().toISOString();
  const machine = machineFacts();
  log(`nilva-session benchmarks — Node ${machine.node}, ${machine.cores} cores (${machine.cpuModel})${options.quick ? ', quick' : ''}`);

  const results: BenchResults = {
    ...previous,
    machine,
    command: `npm run bench${process.argv.length > 2 ? ` -- ${process.argv.slice(2).join(' ')}` : ''}`,
    quick: options.quick,
    startedAt,
    durationSeconds: 0,
  };
  const save = () => writeFileSync(resultsFile, `${JSON.stringify(results, null, 2)}\n`);
  const part = async <K extends 'micro' | 'http' | 'writes' | 'scale' | 'propagation' | 'profile'>(
    name: K,
    run: () => Promise<NonNullable<BenchResults[K]>>,
  ): Promise<void> => {
    if (!options.parts.includes(name)) return;
    const t0 = performance.now();
    log(`\n== ${name}`);
    (results as Record<K, BenchResults[K]>)[name] = await run();
    const seconds = Math.round((performance.now() - t0) / 1000);
    results.partRuns = { ...results.partRuns, [name]: { measuredAt: new Date().toISOString(), quick: options.quick, seconds } };
    log(`   (${seconds} s)`);
    save();
  };

  await part('micro', () => runMicro(options, log));
  await part('http', () => runHttpLoad(options, log));
  await part('writes', () => runWrites(options, log));
  await part('scale', () => runScale(options, log));
  await part('propagation', () => runPropagation(options, log));
  await part('profile', () => runProfile(options, log));

  (results as { durationSeconds: number }).durationSeconds = Math.round((performance.now() - started) / 1000);
  save();
  if (options.report) {
    const written = writeReport(results);
    log(`\nwrote ${written.join(', ')}`);
  }
  log(`done in ${results.durationSeconds} s`);
}

await main();
