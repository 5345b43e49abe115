// Property-based fuzzing of the web pages over real HTTP (fast-check, fixed seed, bounded): the
// sign-in form, sign-out, the devices pages and the staff's admin pages, mounted beside the API
// on Express, Fastify and Hono over SQLite, with generated cookies, forms, origins and paths.
// Each answer must keep every property of test/fuzz/: no 5xx, a documented status, no internal
// detail, and no session id or secret of a user whose credentials the request did not carry
// (except the admin pages, shown to staff). `npm run fuzz -- --runs N` runs them longer.
import fc from 'fast-check';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { FUZZ_SEED, HTTP_RUNS } from '../fuzz/budget.js';
import { FuzzWorld, requestProperty } from '../fuzz/world.js';
import { PAGE_FRAMEWORKS } from '../helpers/http-apps.js';

/** Generated requests of every run in this file, printed at the end (the report's figure). */
let total = 0;
afterAll(() => {
  console.info(`fuzz-pages: ${total} generated HTTP requests in total`);
});

describe.each(PAGE_FRAMEWORKS)('fuzzing the web pages on sqlite through %s', (framework) => {
  let world: FuzzWorld;

  beforeAll(async () => {
    // The sign-in throttle stays on here (SessionApi's default): 429 is a documented answer of
    // the sign-in form and the step-up, and the requests come from several 127.0.0.x addresses.
    world = await FuzzWorld.start({ dialect: 'sqlite', framework, kind: 'pages', throttle: true });
  });
  afterAll(async () => {
    if (world !== undefined) {
      console.info(
        `fuzz pages sqlite/${framework}: ${world.requests} generated requests (seed ${FUZZ_SEED}), statuses ${JSON.stringify(Object.fromEntries(world.statuses))}`,
      );
    }
    total += world?.requests ?? 0;
    await world?.close();
  });

  test(`${HTTP_RUNS.pages} generated requests keep every property`, async () => {
    await fc.assert(requestProperty(world), { seed: FUZZ_SEED, numRuns: HTTP_RUNS.pages });
  }, 120_000);
});
