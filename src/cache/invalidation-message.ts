import type { UserId } from '../core/session.js';

/** A session as caches know it: the two keys it is reachable by. A `SessionRef` is one. */
export interface CacheRef {
  readonly id: string;
  readonly keyHash: string;
  /** Not used by caches, and not sent to other processes. */
  readonly userId?: UserId | undefined;
}

/**
 * What travels on the invalidation channel: sessions to drop, or "drop everything of this
 * namespace" (sent after entries could not be invalidated one by one).
 */
export type InvalidationMessage = { readonly type: 'invalidate'; readonly refs: readonly CacheRef[] } | { readonly type: 'clear' };

/** `{"v":1,"refs":[[id,keyHash],…]}` or `{"v":1,"clear":true}`: ids and hashes only. */
export function encodeInvalidation(message: InvalidationMessage): string {
  if (message.type === 'clear') return '{"v":1,"clear":true}';
  return JSON.stringify({ v: 1, refs: message.refs.map((r) => [r.id, r.keyHash]) });
}

/** Parses a message of {@link encodeInvalidation}; anything else is `undefined` and ignored. */
export function decodeInvalidation(raw: string): InvalidationMessage | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || (value as { v?: unknown }).v !== 1) return undefined;
  const v = value as { clear?: unknown; refs?: unknown };
  if (v.clear === true) return { type: 'clear' };
  if (!Array.isArray(v.refs)) return undefined;
  const refs: CacheRef[] = [];
  for (const pair of v.refs as unknown[]) {
    if (!Array.isArray(pair) || typeof pair[0] !== 'string' || typeof pair[1] !== 'string') return undefined;
    refs.push({ id: pair[0], keyHash: pair[1] });
  }
  return { type: 'invalidate', refs };
}
