const UNITS: ReadonlyArray<readonly [name: string, seconds: number]> = [
  ['year', 365 * 86_400],
  ['month', 30 * 86_400],
  ['day', 86_400],
  ['hour', 3_600],
  ['minute', 60],
  ['second', 1],
];

/**
 * English relative time of `date` seen at `now`, rounded down to the largest whole unit:
 * `just now` (under 10 s), `3 minutes ago`, `1 hour ago`, `in 2 days`.
 *
 * @example relativeTime(new Date(now - 180_000), new Date(now)) // '3 minutes ago'
 */
export function relativeTime(date: Date, now: Date): string {
  const diff = Math.trunc((now.getTime() - date.getTime()) / 1000);
  const seconds = Math.abs(diff);
  if (seconds < 10) return 'just now';
  for (const [name, size] of UNITS) {
    const n = Math.floor(seconds / size);
    if (n >= 1) {
      const amount = `${n} ${name}${n === 1 ? '' : 's'}`;
      return diff >= 0 ? `${amount} ago` : `in ${amount}`;
    }
  }
  return 'just now';
}

/** `2026-11-27 11:12:12 UTC`: the exact time shown on hover. */
export function exactTime(date: Date): string {
  return `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}
