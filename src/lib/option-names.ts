/**
 * Refuses option names a constructor does not know. TypeScript catches a misspelled option in a
 * literal, but not in an object built elsewhere or in JavaScript, and a silently ignored
 * `cacheTTL` leaves the default in force without a word.
 *
 * @throws TypeError `nilva-session: unknown option "cacheTTL" for SessionManager; did you mean "cacheTtlSeconds"?`
 */
export function assertKnownOptions(owner: string, options: object, known: readonly string[]): void {
  for (const name of Object.keys(options)) {
    if (known.includes(name)) continue;
    const nearest = nearestName(name, known);
    const hint = nearest === undefined ? `; the options are ${known.map((k) => `"${k}"`).join(', ')}` : `; did you mean "${nearest}"?`;
    throw new TypeError(`nilva-session: unknown option ${JSON.stringify(name)} for ${owner}${hint}`);
  }
}

/**
 * The option names of an options type, as a list. Written as a record so that the compiler
 * refuses both a missing and an extra name: the list cannot drift from the interface.
 *
 * @example
 * const KNOWN = optionNames<MemorySessionCacheOptions>({ max: true, clock: true });
 */
export function optionNames<T>(names: { readonly [K in keyof Required<T>]: true }): readonly string[] {
  return Object.freeze(Object.keys(names));
}

/**
 * The known name closest to `name`, or `undefined` when none is close. Compared without case
 * and without `_`/`-`, so `cache_ttl_seconds` and `CACHETTLSECONDS` find `cacheTtlSeconds`; a
 * name that is the start of a known one without its unit (`cacheTTL`) finds it too.
 */
export function nearestName(name: string, known: readonly string[]): string | undefined {
  const wanted = fold(name);
  let best: string | undefined;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const folded = fold(candidate);
    if (folded === wanted) return candidate;
    // A known name missing its unit (`cacheTTL`), or one with a word too many (`maxSize`), is close.
    // The missing unit is the likelier slip: `cacheTTL` is `cacheTtlSeconds`, not `cache`.
    const distance =
      folded.startsWith(wanted) && wanted.length >= 4
        ? 1
        : wanted.startsWith(folded) && folded.length >= 3
          ? 1.5
          : editDistance(wanted, folded);
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  // Up to a third of the name may differ: `sesionTtlSeconds` is a typo, `colour` is not `clock`.
  return bestDistance <= Math.max(2, Math.floor(wanted.length / 3)) ? best : undefined;
}

function fold(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, '');
}

/** Levenshtein distance, with an adjacent transposition counted as one edit. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let value = Math.min(
        (d[(i - 1) * cols + j] as number) + 1,
        (d[i * cols + j - 1] as number) + 1,
        (d[(i - 1) * cols + j - 1] as number) + cost,
      );
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, (d[(i - 2) * cols + j - 2] as number) + 1);
      d[i * cols + j] = value;
    }
  }
  return d[rows * cols - 1] as number;
}
