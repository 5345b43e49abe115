// What bench/soak.ts and its instances (bench/soak-instance.ts) tell each other over IPC, and
// what both must agree on.

/** What the soak tells an instance at start. */
export interface InstanceSpec {
  readonly name: string;
  readonly tableName: string;
  readonly namespace: string;
}

export type SoakParentMessage =
  /** With `dropTier` (the last sample), the in-process tier is then cleared to weigh it. */
  { readonly type: 'stats'; readonly id: number; readonly dropTier?: boolean } | { readonly type: 'stop' };

/** One memory sample of an instance. */
export interface InstanceStats {
  /** `process.memoryUsage()` before the GC. */
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  /** `heapUsed` right after a full GC: what is really kept. */
  readonly heapAfterGc: number;
  /** Entries in the in-process tier, and its bound (`localMax`). */
  readonly localSize: number;
  readonly localMax: number;
  /** CPU time of the process so far, in µs. */
  readonly cpuUser: number;
  readonly cpuSystem: number;
  /** With `dropTier`: the heap a full GC frees once the in-process tier is cleared, in bytes. */
  readonly tierBytes?: number | undefined;
  /** What the library logged, counted. */
  readonly warnings: number;
}

export type SoakInstanceMessage =
  | { readonly type: 'ready'; readonly port: number }
  | ({ readonly type: 'stats'; readonly id: number } & InstanceStats)
  | { readonly type: 'stopped' };

/** createRedisSessionCache's default `localMax`: the bound the soak checks the tier against. */
export const LOCAL_MAX = 100_000;

/** `user<N>` / `pw-<N>`: a registry as cheap as possible, so the session machinery is what runs. */
export function soakPassword(id: number): string {
  return `pw-${id}`;
}
