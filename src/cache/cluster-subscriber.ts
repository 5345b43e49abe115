import { randomUUID } from 'node:crypto';
import type { RedisClusterSubscriberClient, RedisEventListener, RedisSubscriberClient } from './redis-client.js';
import { withTimeout } from './timers.js';

/** Options of {@link ClusterSubscriber}. */
export interface ClusterSubscriberOptions {
  /** Publishes through the command connection (any node: a cluster passes it to every node). */
  readonly publish: (channel: string, message: string) => Promise<unknown>;
  /** A channel only this process listens to, for its probes. */
  readonly probeChannel: string;
  /** How long a probe waits to hear itself. */
  readonly timeoutMs: number;
  /** A probe this often while listening, so that a path that went quiet is noticed. Default 5000. */
  readonly heartbeatMs?: number | undefined;
}

/** The first retry after a failed probe; doubling up to {@link MAX_RETRY_MS}. */
const FIRST_RETRY_MS = 50;
const MAX_RETRY_MS = 250;

/**
 * The subscriber of a Redis Cluster, seen as a single server's subscriber: `ready` only once it
 * has heard its own message, `reconnecting` as soon as the node it listens on has a problem.
 *
 * node-redis's cluster client subscribes on one node and, when that node fails, moves its
 * listeners to another only after it has learnt the new topology (seconds later, and with no
 * event saying it is done). Messages sent meanwhile are lost, so the two-tier cache must not
 * trust its copies until the subscription works again; this class finds that out by publishing
 * a probe on its own channel (through the command connection, so through any live node) and
 * waiting to hear it. It probes after every problem until heard, and every `heartbeatMs` while
 * listening. A probe that could not be sent says nothing about the subscriber and is retried.
 */
export class ClusterSubscriber implements RedisSubscriberClient {
  readonly #cluster: RedisClusterSubscriberClient;
  readonly #publish: (channel: string, message: string) => Promise<unknown>;
  readonly #probeChannel: string;
  readonly #timeoutMs: number;
  readonly #heartbeatMs: number;
  readonly #listeners = new Map<string, Set<RedisEventListener>>();
  /** Probes waiting to be heard: nonce → resolve. */
  readonly #waiting = new Map<string, (heard: boolean) => void>();
  #channel: string | undefined;
  #listener: ((message: string, channel: string) => void) | undefined;
  /** The cluster client took the subscription (it keeps it, and moves it after a failover). */
  #subscribed = false;
  /** A probe was heard since the last problem. */
  #verified = false;
  #stopped = false;
  #timer: NodeJS.Timeout | undefined;
  #retryMs = FIRST_RETRY_MS;
  #checking = false;

  constructor(cluster: RedisClusterSubscriberClient, options: ClusterSubscriberOptions) {
    this.#cluster = cluster;
    this.#publish = options.publish;
    this.#probeChannel = options.probeChannel;
    this.#timeoutMs = options.timeoutMs;
    this.#heartbeatMs = options.heartbeatMs ?? 5000;
    for (const event of ['node-error', 'node-reconnecting', 'node-disconnect']) cluster.on(event, this.#onNodeProblem);
    cluster.on('error', this.#onClusterError);
    cluster.on('connect', this.#onConnect);
    cluster.on('disconnect', this.#onDisconnect);
  }

  /** Before the first subscription: the topology is known. After: messages are heard. */
  get isReady(): boolean {
    return this.#channel === undefined ? this.#cluster.isReady : this.#verified;
  }

  /** Subscribes and resolves once a probe was heard (rejects when none was within the timeout). */
  async subscribe(channel: string, listener: (message: string, channel: string) => void): Promise<unknown> {
    if (this.#channel !== undefined && this.#channel !== channel) throw new Error('nilva-session: one channel per cluster subscriber');
    this.#channel = channel;
    this.#listener = listener;
    this.#stopped = false;
    try {
      await this.#ensureSubscribed();
      if ((await this.#probe()) !== 'heard') throw new Error('nilva-session: the Redis cluster subscriber did not hear its own probe');
    } catch (error) {
      this.#verified = false;
      // Reported by the caller; the retries end with `ready` once a probe is heard.
      this.#schedule(this.#retryMs);
      throw error;
    }
    this.#markHeard();
    return undefined;
  }

  async unsubscribe(channel: string, _listener: (message: string, channel: string) => void): Promise<unknown> {
    this.#stop();
    if (this.#channel !== channel) return undefined;
    this.#channel = undefined;
    this.#listener = undefined;
    if (!this.#subscribed) return undefined;
    this.#subscribed = false;
    return this.#cluster.unsubscribe([channel, this.#probeChannel], this.#onMessage as never);
  }

  async #ensureSubscribed(): Promise<void> {
    if (this.#subscribed || this.#channel === undefined) return;
    await this.#cluster.subscribe([this.#channel, this.#probeChannel], this.#onMessage);
    this.#subscribed = true;
  }

  on(event: string, listener: RedisEventListener): this {
    const set = this.#listeners.get(event) ?? new Set<RedisEventListener>();
    this.#listeners.set(event, set);
    set.add(listener);
    return this;
  }

  off(event: string, listener: RedisEventListener): this {
    this.#listeners.get(event)?.delete(listener);
    return this;
  }

  #emit(event: string, ...args: unknown[]): void {
    for (const listener of [...(this.#listeners.get(event) ?? [])]) listener(...args);
  }

  readonly #onMessage = (message: string, channel: string): void => {
    if (channel === this.#probeChannel) {
      this.#waiting.get(message)?.(true);
      return;
    }
    this.#listener?.(message, channel);
  };

  /** A connection of the subscriber failed: what was published meanwhile is lost. */
  readonly #onNodeProblem = (error?: unknown): void => {
    if (this.#stopped || this.#channel === undefined) return;
    this.#down(error instanceof Error ? error : undefined);
  };

  /** Topology discovery failed on some node: that says little; a probe tells. */
  readonly #onClusterError = (): void => {
    if (this.#stopped || this.#channel === undefined || !this.#verified) return;
    this.#schedule(0);
  };

  readonly #onConnect = (): void => {
    if (this.#channel === undefined) this.#emit('ready');
  };

  readonly #onDisconnect = (): void => {
    const wasVerified = this.#verified;
    this.#stop();
    if (wasVerified) this.#emit('end');
  };

  #down(error: Error | undefined): void {
    const was = this.#verified;
    this.#verified = false;
    this.#retryMs = FIRST_RETRY_MS;
    if (was) this.#emit('reconnecting', error);
    this.#schedule(this.#retryMs);
  }

  #markHeard(): void {
    const was = this.#verified;
    this.#verified = true;
    this.#retryMs = FIRST_RETRY_MS;
    this.#schedule(this.#heartbeatMs);
    if (!was) this.#emit('ready');
  }

  #schedule(ms: number): void {
    if (this.#stopped) return;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#check();
    }, ms);
    this.#timer.unref();
  }

  /** One probe: heard → listening; unheard → not; not sent → unknown, retried soon. */
  async #check(): Promise<void> {
    if (this.#stopped || this.#checking || this.#channel === undefined) return;
    this.#checking = true;
    let outcome: 'heard' | 'unheard' | 'unsent';
    try {
      await this.#ensureSubscribed();
      outcome = await this.#probe();
    } catch {
      outcome = 'unsent';
    } finally {
      this.#checking = false;
    }
    if (this.#stopped || this.#channel === undefined) return;
    if (outcome === 'heard') {
      this.#markHeard();
      return;
    }
    if (outcome === 'unheard' && this.#verified) {
      this.#down(undefined);
      return;
    }
    this.#retryMs = Math.min(this.#retryMs * 2, MAX_RETRY_MS);
    this.#schedule(this.#retryMs);
  }

  async #probe(): Promise<'heard' | 'unheard' | 'unsent'> {
    const nonce = randomUUID();
    let timer: NodeJS.Timeout | undefined;
    const heard = new Promise<boolean>((resolve) => {
      this.#waiting.set(nonce, resolve);
      timer = setTimeout(() => resolve(false), this.#timeoutMs);
      timer.unref();
    });
    try {
      try {
        await withTimeout(this.#publish(this.#probeChannel, nonce), this.#timeoutMs);
      } catch {
        return 'unsent';
      }
      return (await heard) ? 'heard' : 'unheard';
    } finally {
      clearTimeout(timer);
      this.#waiting.delete(nonce);
    }
  }

  #stop(): void {
    this.#stopped = true;
    this.#verified = false;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    for (const resolve of this.#waiting.values()) resolve(false);
  }
}
