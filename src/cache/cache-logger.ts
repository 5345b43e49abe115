import type { SessionLogger } from '../core/events.js';

/**
 * Where the Redis tier reports what it cannot throw. A {@link SessionLogger} fits; `info`, when
 * present, also hears that Redis is reachable again.
 */
export interface CacheLogger extends SessionLogger {
  info?(message: string, details?: Record<string, unknown>): void;
}

/** `console.warn` / `console.info`, as the session manager's default logger. */
export const consoleCacheLogger: CacheLogger = {
  warn: (message, details) => console.warn(message, details ?? ''),
  info: (message, details) => console.info(message, details ?? ''),
};
