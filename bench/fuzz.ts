// The long fuzz run: the properties of the bounded fuzz tests (test/fuzz/), with as many
// generated inputs as asked, against the real services (SQLite, PostgreSQL, MariaDB).
//
//   npm run fuzz -- --runs 20000              # 20000 generated HTTP requests, a random seed
//   npm run fuzz -- --runs 20000 --seed 42    # the same requests again
//   npm run fuzz -- --target api:sqlite:hono --seed 42 --runs 2223 --path "812:3:0"   # replay one failure
//   npm run fuzz -- --list                    # the targets
//
// --runs N is the number of generated HTTP requests, shared by the HTTP targets; the parsers'
// properties run N inputs each (the token_id query N/10, each of its runs writes sessions).
// Target i runs with seed S+i. A failure prints the counterexample and the command replaying
// it (a replay starts from fresh sessions, so a failure that needed earlier requests' effects
// may need the whole run again: the same --runs and --seed).
import fc from 'fast-check';
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import {
  activeQueryProperty,
  authorizationProperty,
  charFieldsProperty,
  readBodyFormProperty,
  readBodyJsonProperty,
  readBodyTotalProperty,
} from '../test/fuzz/unit-properties.js';
import { FuzzWorld, requestProperty } from '../test/fuzz/world.js';
import { openTestDatabase, type TestDialect } from '../test/helpers/databases.js';
import type { Framework } from '../test/helpers/http-apps.js';

interface Target {
  readonly name: string;
  /** Share of the generated HTTP requests (0 for the parsers). */
  readonly weight: number;
  /** Runs the property; returns how many HTTP requests it sent. */
  run(numRuns: number, seed: number, path: string | undefined): Promise<{ details: fc.RunDetails<unknown>; requests: number }>;
}

function unit<Ts extends [unknown, ...unknown[]]>(name: string, property: fc.IPropertyWithHooks<Ts>): Target {
  return {
    name,
    weight: 0,
    run: async (numRuns, seed, path) => ({
      details: fc.check(property, { numRuns, seed, ...(path === undefined ? {} : { path }) }) as fc.RunDetails<unknown>,
      requests: 0,
    }),
  };
}

function http(
  kind: 'api' | 'pages',
  dialect: TestDialect,
  framework: Framework,
  weight: number,
  variant: 'default' | 'strict' = 'default',
): Target {
  return {
    name: `${kind}:${dialect}:${framework}${variant === 'strict' ? ':strict' : ''}`,
    weight,
    run: async (numRuns, seed, path) => {
      // Throttle: off for the API (many wrong passwords from one address would make every later
      // sign-in a 429; the throttle has its own tests), on for the pages, where 429 is allowed.
      const world = await FuzzWorld.start({ dialect, framework, kind, throttle: kind === 'pages', variant });
      try {
        const details = await fc.check(requestProperty(world), { numRuns, seed, ...(path === undefined ? {} : { path }) });
        return { details: details as fc.RunDetails<unknown>, requests: world.requests };
      } finally {
        await world.close();
      }
    },
  };
}

const queryTarget: Target = {
  name: 'unit:token-id-query',
  weight: 0,
  run: async (numRuns, seed, path) => {
    const database = await openTestDatabase('sqlite', { userIdType: 'integer' });
    const manager = new SessionManager<unknown>({ store: database.store, logger: { warn: () => undefined } });
    try {
      const api = new SessionApi({ manager, verifyCredentials: () => null, maxTokenIds: 5 });
      const property = activeQueryProperty({ api, manager, store: database.store, maxTokenIds: 5 });
      const details = await fc.check(property, { numRuns, seed, ...(path === undefined ? {} : { path }) });
      return { details: details as fc.RunDetails<unknown>, requests: 0 };
    } finally {
      await manager.close();
      await database.close();
    }
  },
};

const TARGETS: readonly Target[] = [
  unit('unit:authorization', authorizationProperty),
  unit('unit:body', readBodyTotalProperty),
  unit('unit:body-json', readBodyJsonProperty),
  unit('unit:body-form', readBodyFormProperty),
  unit('unit:char-fields', charFieldsProperty),
  queryTarget,
  ...(['express', 'fastify', 'hono'] as const).map((framework) => http('api', 'sqlite', framework, 2)),
  // PostgreSQL with the options that change answers on (FuzzWorldOptions.variant).
  ...(['express', 'fastify', 'hono'] as const).map((framework) => http('api', 'postgres', framework, 1, 'strict')),
  http('api', 'mysql', 'hono', 1),
  ...(['express', 'fastify', 'hono'] as const).map((framework) => http('pages', 'sqlite', framework, 1)),
  http('pages', 'postgres', 'fastify', 1, 'strict'),
];

function parseArgs(argv: readonly string[]) {
  const options: { runs: number; seed: number; targets: string[]; path: string | undefined; list: boolean } = {
    runs: 2000,
    seed: Math.floor(Math.random() * 2 ** 31),
    targets: [],
    path: undefined,
    list: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = () => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${arg} needs a value`);
      return v;
    };
    if (arg === '--runs') options.runs = Number(value());
    else if (arg === '--seed') options.seed = Number(value());
    else if (arg === '--target') options.targets.push(...value().split(','));
    else if (arg === '--path') options.path = value();
    else if (arg === '--list') options.list = true;
    else throw new Error(`unknown argument ${arg} (--runs N, --seed S, --target NAME[,NAME], --path P, --list)`);
  }
  if (!Number.isSafeInteger(options.runs) || options.runs < 1) throw new Error('--runs needs a positive integer');
  if (!Number.isSafeInteger(options.seed)) throw new Error('--seed needs an integer');
  return options;
}

const options = parseArgs(process.argv.slice(2));
if (options.list) {
  for (const target of TARGETS) console.log(target.name);
  process.exit(0);
}
const unknown = options.targets.filter((name) => !TARGETS.some((t) => t.name === name));
if (unknown.length > 0) throw new Error(`unknown target ${unknown.join(', ')} (see --list)`);
const selected = TARGETS.map((target, index) => ({ target, index })).filter(
  ({ target }) => options.targets.length === 0 || options.targets.includes(target.name),
);
const totalWeight = selected.reduce((sum, { target }) => sum + target.weight, 0);
const plan = selected.map(({ target, index }) => ({
  target,
  seed: options.seed + index,
  runs:
    target.weight === 0
      ? target === queryTarget
        ? Math.max(1, Math.ceil(options.runs / 10))
        : options.runs
      : Math.max(1, Math.round((options.runs * target.weight) / totalWeight)),
}));
const plannedRequests = plan.reduce((sum, p) => sum + (p.target.weight > 0 ? p.runs : 0), 0);
console.log(
  `nilva-session fuzz: seed ${options.seed}, ${plannedRequests} generated HTTP requests planned over ${plan.filter((p) => p.target.weight > 0).length} HTTP targets`,
);

const started = Date.now();
let requests = 0;
let failures = 0;
for (const { target, seed, runs } of plan) {
  const t0 = Date.now();
  const { details, requests: sent } = await target.run(runs, seed, options.path);
  requests += sent;
  const seconds = ((Date.now() - t0) / 1000).toFixed(1);
  const what = target.weight > 0 ? `${sent} requests` : `${details.numRuns} inputs`;
  if (!details.failed) {
    console.log(`  ok   ${target.name.padEnd(24)} ${what}, seed ${seed}, ${seconds} s`);
    continue;
  }
  failures++;
  console.log(`  FAIL ${target.name.padEnd(24)} after ${details.numRuns} runs (${what}), seed ${seed}, ${seconds} s`);
  console.log(`    counterexample: ${fc.stringify(details.counterexample)}`);
  console.log(`    ${String(details.errorInstance).split('\n').join('\n    ')}`);
  // The base seed: each target adds its index to it.
  console.log(
    `    replay: npm run fuzz -- --target ${target.name} --seed ${options.seed} --runs ${runs} --path "${details.counterexamplePath}"`,
  );
}
const seconds = ((Date.now() - started) / 1000).toFixed(1);
console.log(
  `nilva-session fuzz: seed ${options.seed}, ${requests} generated HTTP requests run, ${failures} failing target(s), ${seconds} s`,
);
process.exit(failures > 0 ? 1 : 0);
