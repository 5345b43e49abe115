// Property-based fuzzing of the parsers (fast-check, fixed seed, bounded): the Authorization
// header, the body reader and DRF's field rules, and DELETE active's token_id/scope query
// through SessionApi.handle on an in-memory SQLite store. `npm run fuzz -- --runs N` runs the
// same properties longer (scripts/fuzz.ts).
import fc from 'fast-check';
import { SessionManager } from 'nilva-session';
import { SessionApi } from 'nilva-session/http';
import { afterAll, beforeAll, describe, test } from 'vitest';
import { FUZZ_SEED, UNIT_RUNS } from '../fuzz/budget.js';
import {
  activeQueryProperty,
  authorizationProperty,
  charFieldsProperty,
  type QueryHarness,
  readBodyFormProperty,
  readBodyJsonProperty,
  readBodyTotalProperty,
} from '../fuzz/unit-properties.js';
import { openTestDatabase, type TestDatabase } from '../helpers/databases.js';

describe('fuzzing the parsers', () => {
  test(`parseAuthorization follows the contract's header rule (${UNIT_RUNS.header} headers)`, () => {
    fc.assert(authorizationProperty, { seed: FUZZ_SEED, numRuns: UNIT_RUNS.header });
  });

  test(`readBody never throws and answers only the documented 400/415 (${UNIT_RUNS.body} bodies)`, () => {
    fc.assert(readBodyTotalProperty, { seed: FUZZ_SEED, numRuns: UNIT_RUNS.body });
  });

  test(`readBody gives back any JSON object, and names the kind of anything else (${UNIT_RUNS.body} values)`, () => {
    fc.assert(readBodyJsonProperty, { seed: FUZZ_SEED, numRuns: UNIT_RUNS.body });
  });

  test(`readBody reads every form field, whatever its name (${UNIT_RUNS.body} forms)`, () => {
    fc.assert(readBodyFormProperty, { seed: FUZZ_SEED, numRuns: UNIT_RUNS.body });
  });

  test(`charFields gives the contract's error for each field (${UNIT_RUNS.fields} field sets)`, () => {
    fc.assert(charFieldsProperty, { seed: FUZZ_SEED, numRuns: UNIT_RUNS.fields });
  });
});

describe('fuzzing the token_id/scope query of DELETE active', () => {
  let database: TestDatabase;
  let harness: QueryHarness;

  beforeAll(async () => {
    database = await openTestDatabase('sqlite', { userIdType: 'integer' });
    const manager = new SessionManager<unknown>({ store: database.store, logger: { warn: () => undefined } });
    const maxTokenIds = 5;
    harness = {
      manager,
      store: database.store,
      maxTokenIds,
      api: new SessionApi({ manager, verifyCredentials: () => null, maxTokenIds }),
    };
  });
  afterAll(async () => {
    await harness?.manager.close();
    await database?.close();
  });

  test(`the answer and the sessions ended are the contract's (${UNIT_RUNS.query} queries)`, async () => {
    await fc.assert(activeQueryProperty(harness), { seed: FUZZ_SEED, numRuns: UNIT_RUNS.query });
  });
});
