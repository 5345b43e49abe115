// Small statistics and formatting helpers shared by the benchmark parts.

/** The q-quantile (0..1) of `values` by linear interpolation; NaN for none. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo] as number;
  const b = sorted[hi] as number;
  return a + (b - a) * (pos - lo);
}

export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

// Student's t, two-sided 95 %, for 1..30 degrees of freedom.
const T_975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The mean of `values` with its 95 % confidence interval (Student's t; NaN bounds for fewer than 2). */
export function meanInterval(values: readonly number[]): {
  mean: number;
  low: number;
  high: number;
  halfWidth: number;
  n: number;
} {
  const n = values.length;
  const mean = n === 0 ? Number.NaN : values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, low: Number.NaN, high: Number.NaN, halfWidth: Number.NaN, n };
  const variance = values.reduce((a, v) => a + (v - mean) ** 2, 0) / (n - 1);
  const t = n - 1 <= T_975.length ? (T_975[n - 2] as number) : n - 1 <= 60 ? 2.0 : 1.98;
  const halfWidth = (t * Math.sqrt(variance)) / Math.sqrt(n);
  return { mean, low: mean - halfWidth, high: mean + halfWidth, halfWidth, n };
}

/** Latency summary of samples in milliseconds. */
export interface LatencySummary {
  readonly samples: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export function summarize(samplesMs: readonly number[]): LatencySummary {
  return {
    samples: samplesMs.length,
    p50Ms: quantile(samplesMs, 0.5),
    p99Ms: quantile(samplesMs, 0.99),
    maxMs: samplesMs.length === 0 ? Number.NaN : Math.max(...samplesMs),
  };
}

/** `12.3 µs`, `1.23 ms`, `123 ns`: a duration given in nanoseconds, three significant digits. */
export function formatNs(ns: number): string {
  if (!Number.isFinite(ns)) return 'n/a';
  if (ns < 1000) return `${ns.toPrecision(3)} ns`;
  if (ns < 1e6) return `${(ns / 1e3).toPrecision(3)} µs`;
  if (ns < 1e9) return `${(ns / 1e6).toPrecision(3)} ms`;
  return `${(ns / 1e9).toPrecision(3)} s`;
}

export function formatMs(ms: number): string {
  return formatNs(ms * 1e6);
}

/** `12 345` style thousands for counts and rates. */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return 'n/a';
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, '\u202f');
}

export function formatPercent(ratio: number): string {
  return Number.isFinite(ratio) ? `${(ratio * 100).toFixed(1)} %` : 'n/a';
}

/** Monotonic milliseconds. */
export function nowMs(): number {
  return performance.now();
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Runs `fn` and returns its result with the elapsed milliseconds. */
export async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const start = performance.now();
  const value = await fn();
  return { value, ms: performance.now() - start };
}
