// Property-based fuzzing of the HTTP contract over real HTTP (fast-check, fixed seed, bounded):
// generated requests to every route of docs/contract.md and the app's own, on Express,
// Fastify and Hono over SQLite, and once on PostgreSQL (where a NUL or a malformed UUID reaching
// the driver would be an error). Each answer must keep every property of test/fuzz/: no 5xx,
// a documented status, no internal detail, the documented error shapes, and no session id or
// secret of a user whose credentials the request did not carry. `npm run fuzz -- --runs N`
// runs the same properties longer (bench/fuzz.ts).
import fc from 'fast-check';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { FUZZ_SEED, HTTP_RUNS } from '../fuzz/budget.js';
import { FuzzWorld, requestProperty } from '../fuzz/world.js';
import type { TestDialect } from '../helpers/databases.js';
import { FRAMEWORKS, type Framework } from '../helpers/http-apps.js';

const TARGETS: ReadonlyArray<readonly [TestDialect, Framework, number]> = [
  ...FRAMEWORKS.map((framework) => ['sqlite', framework, HTTP_RUNS.api] as const),
  ['postgres', 'express', HTTP_RUNS.apiPostgres],
];

/** Generated requests of every run in this file, printed at the end (the report's figure). */
let total = 0;
afterAll(() => {
  console.info(`fuzz-routes: ${total} generated HTTP requests in total`);
});

describe.each(TARGETS)('fuzzing the HTTP contract on %s through %s', (dialect, framework, runs) => {
  let world: FuzzWorld;

  beforeAll(async () => {
    // Throttle off: see FuzzWorld.start (the pages' fuzz keeps it on).
    // On PostgreSQL with the options that change answers (string user ids, rotation, generic
    // errors, the strict User-Agent policy, a refusing session limit): see FuzzWorldOptions.
    world = await FuzzWorld.start({
      dialect,
      framework,
      kind: 'api',
      throttle: false,
      variant: dialect === 'postgres' ? 'strict' : 'default',
    });
  });
  afterAll(async () => {
    if (world !== undefined) {
      console.info(
        `fuzz api ${dialect}/${framework}: ${world.requests} generated requests (seed ${FUZZ_SEED}), statuses ${JSON.stringify(Object.fromEntries(world.statuses))}`,
      );
    }
    total += world?.requests ?? 0;
    await world?.close();
  });

  test(`${runs} generated requests keep every property`, async () => {
    await fc.assert(requestProperty(world), { seed: FUZZ_SEED, numRuns: runs });
  }, 120_000);
});
