import type { SessionLogger } from './events.js';
import type { SessionStore } from './session-store.js';

/**
 * Write-behind buffer for `last_online`: requests record a touch in memory, and one batched
 * store call per interval writes them. `flush()` is called on shutdown and before reads that
 * must see fresh values.
 */
export class TouchBuffer {
  readonly #store: SessionStore;
  readonly #intervalMs: number;
  readonly #logger: SessionLogger;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  /** Whether the last write failed, so a long outage is reported once, not every flush. */
  #failing = false;
  #inflight: Promise<void> = Promise.resolve();

  constructor(store: SessionStore, intervalMs: number, logger: SessionLogger) {
    this.#store = store;
    this.#intervalMs = intervalMs;
    this.#logger = logger;
  }

  /** The last touch recorded for `id` and not yet written, in epoch ms. */
  pending(id: string): number | undefined {
    return this.#pending.get(id);
  }

  get size(): number {
    return this.#pending.size;
  }

  add(id: string, at: number): void {
    this.#pending.set(id, at);
    if (this.#timer === undefined) {
      this.#timer = setTimeout(() => void this.flush(), this.#intervalMs);
      this.#timer.unref();
    }
  }

  /** Writes every pending touch. Never rejects: a failed write is logged and retried once later. */
  flush(): Promise<void> {
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer);
      this.#timer = undefined;
    }
    const batch = this.#pending;
    if (batch.size === 0) return this.#inflight;
    this.#pending = new Map();
    const entries = [...batch].map(([id, at]) => ({ id, lastOnline: new Date(at) }));
    const previous = this.#inflight;
    this.#inflight = previous.then(() =>
      this.#store.touch(entries).then(
        () => {
          this.#failing = false;
        },
        (error: unknown) => {
          // Once per outage: the request path already logs the store's failure with its hint.
          if (!this.#failing) {
            this.#failing = true;
            this.#logger.warn('nilva-session: could not write last_online; will retry', { error: String(error), sessions: entries.length });
          }
          // Keep what is not superseded by a newer touch, bounded so a long outage cannot grow it.
          for (const [id, at] of batch) {
            if (!this.#pending.has(id) && this.#pending.size < 100_000) this.#pending.set(id, at);
          }
          if (this.#pending.size > 0 && this.#timer === undefined) {
            this.#timer = setTimeout(() => void this.flush(), this.#intervalMs * 5);
            this.#timer.unref();
          }
        },
      ),
    );
    return this.#inflight;
  }

  /** Stops the timer after a last flush. */
  async close(): Promise<void> {
    await this.flush();
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}
