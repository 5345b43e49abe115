// Durations on the command line: a whole number and a unit, as people write them (`30d`).

const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** Seconds in `30d`, `12h`, `90m` or `3600s`; `undefined` for anything else (zero included). */
export function parseDuration(text: string): number | undefined {
  const match = /^([0-9]{1,9})([smhd])$/.exec(text.trim());
  if (match === null) return undefined;
  const seconds = Number(match[1]) * (UNITS[match[2] as string] as number);
  return seconds > 0 && Number.isSafeInteger(seconds) ? seconds : undefined;
}
