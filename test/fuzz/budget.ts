// The size of the bounded fuzz runs in `npm test`, and their fixed seed: the same requests on
// every run, so a failure in CI replays on a laptop. The whole bounded suite stays near a
// minute on two busy cores; `npm run fuzz -- --runs N --seed S` explores further.

/** The seed of every bounded run. */
export const FUZZ_SEED = 20_260_311;

/** Runs of the unit-level properties. */
export const UNIT_RUNS = { header: 10_000, body: 5000, fields: 5000, query: 800 } as const;

/** Generated HTTP requests of each bounded run. */
export const HTTP_RUNS = {
  /** The API on SQLite, per framework. */
  api: 800,
  /** The API on PostgreSQL (one framework). */
  apiPostgres: 500,
  /** The pages on SQLite, per framework. */
  pages: 500,
} as const;
