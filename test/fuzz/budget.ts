// The size of the bounded fuzz runs in `npm test`, and their fixed seed: the same requests on
// every run, so a failure in CI replays on a laptop. The whole bounded suite stays near a
// minute on two busy cores; `npm run fuzz -- --runs N --seed S` explores further.

/** The seed of every bounded run. */
export const FUZZ_SEED = 20_260_311;

/** Runs of the unit-level properties. */
export const UNIT_RUNS = { header: 5000, body: 3000, fields: 3000, query: 400 } as const;

/** Generated HTTP requests of each bounded run. */
export const HTTP_RUNS = {
  /** The API on SQLite, per framework. */
  api: 300,
  /** The API on PostgreSQL (one framework). */
  apiPostgres: 200,
  /** The pages on SQLite, per framework. */
  pages: 150,
} as const;
