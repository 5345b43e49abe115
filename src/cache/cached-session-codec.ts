import type { CachedSession } from '../core/session-cache.js';

/**
 * JSON of a {@link CachedSession} with an explicit field list, so nothing but the record's own
 * fields (never a token) reaches a shared cache. `user` must survive `JSON.stringify`.
 *
 * @throws TypeError when `user` cannot be serialised (a cycle, a BigInt)
 */
export function encodeCachedSession(entry: CachedSession): string {
  return JSON.stringify({
    id: entry.id,
    userId: entry.userId,
    keyHash: entry.keyHash,
    expireAt: entry.expireAt,
    lastOnline: entry.lastOnline,
    lastIp: entry.lastIp,
    userAgent: entry.userAgent,
    createdAt: entry.createdAt,
    authenticatedAt: entry.authenticatedAt,
    user: entry.user,
  });
}

/**
 * Parses what {@link encodeCachedSession} wrote. Anything else (garbage, a foreign value, a
 * record of another session than the one looked up) is `undefined`: a shared cache is never
 * trusted beyond what it can prove, and a miss only costs a store read.
 */
export function decodeCachedSession(
  raw: unknown,
  expected: { readonly keyHash?: string; readonly id?: string },
): CachedSession | undefined {
  if (typeof raw !== 'string') return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (
    typeof v.id !== 'string' ||
    (typeof v.userId !== 'string' && typeof v.userId !== 'number') ||
    typeof v.keyHash !== 'string' ||
    (v.expireAt !== null && typeof v.expireAt !== 'number') ||
    typeof v.lastOnline !== 'number' ||
    typeof v.lastIp !== 'string' ||
    typeof v.userAgent !== 'string' ||
    typeof v.createdAt !== 'number' ||
    typeof v.authenticatedAt !== 'number' ||
    !('user' in v)
  ) {
    return undefined;
  }
  if (expected.keyHash !== undefined && v.keyHash !== expected.keyHash) return undefined;
  if (expected.id !== undefined && v.id !== expected.id) return undefined;
  return {
    id: v.id,
    userId: v.userId,
    keyHash: v.keyHash,
    expireAt: v.expireAt,
    lastOnline: v.lastOnline,
    lastIp: v.lastIp,
    userAgent: v.userAgent,
    createdAt: v.createdAt,
    authenticatedAt: v.authenticatedAt,
    user: v.user,
  };
}
