// A progress display for long batched commands. On a terminal: one line redrawn in place, with
// a bar, rows per second and the time left. Elsewhere (a log, CI, a pipe): plain lines, one per
// tenth of the work and at the end, so a log stays short and readable. Written here rather than
// taken from a package: it is a few dozen lines, and the command line should not pull dependencies
// into every application that installs the library.

/** Where the display writes: a stream, and whether it is a terminal. */
export interface ProgressOutput {
  readonly isTTY?: boolean | undefined;
  write(text: string): unknown;
}

/** A running display. */
export interface Progress {
  /** `done` of `total` rows are converted. */
  update(done: number, total: number): void;
  /** The work is over: draws the final state and ends the line. */
  finish(): void;
}

const BAR_WIDTH = 30;
/** A terminal redraws at most this often: drawing is slower than a fast batch. */
const REDRAW_MS = 100;

export function createProgress(output: ProgressOutput, label: string, clock: () => number = Date.now): Progress {
  const started = clock();
  let done = 0;
  let total = 0;
  let drawnAt = Number.NEGATIVE_INFINITY;
  let tenth = -1;
  const line = (): string => {
    const elapsed = Math.max(clock() - started, 1) / 1000;
    const rate = done / elapsed;
    const left = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
    const percent = total === 0 ? 100 : Math.floor((done / total) * 100);
    const eta = done >= total ? 'done' : `ETA ${duration(left)}`;
    return `${label}: ${done}/${total} rows (${percent}%), ${Math.round(rate)} rows/s, ${eta}`;
  };
  const draw = (final: boolean): void => {
    if (output.isTTY === true) {
      const filled = total === 0 ? BAR_WIDTH : Math.round((done / total) * BAR_WIDTH);
      // \r and "erase to end of line": the line is redrawn where it is.
      output.write(`\r[${'#'.repeat(filled)}${'-'.repeat(BAR_WIDTH - filled)}] ${line()}\x1b[K${final ? '\n' : ''}`);
      return;
    }
    output.write(`${line()}\n`);
  };
  return {
    update(nextDone, nextTotal) {
      done = nextDone;
      total = nextTotal;
      const now = clock();
      if (output.isTTY === true) {
        if (now - drawnAt < REDRAW_MS) return;
        drawnAt = now;
        draw(false);
        return;
      }
      const reached = total === 0 ? 10 : Math.floor((done / total) * 10);
      if (reached === tenth) return;
      tenth = reached;
      draw(false);
    },
    finish() {
      if (output.isTTY === true || tenth !== 10) draw(true);
    },
  };
}

/** `12s`, `3m05s`, `1h02m`: short, and exact enough for a time left. */
export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}
