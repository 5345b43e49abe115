import type { CachedSession } from '../core/session-cache.js';

/**
 * What the integrations attach to an authenticated request (`req.nilva` in Express,
 * `request.nilva` in Fastify, `c.get('nilva')` in Hono). Named so that it never collides with
 * `req.session` of cookie-session libraries.
 */
export interface NilvaContext<TUser = unknown> {
  readonly user: TUser;
  /** The session (no token in it). */
  readonly session: CachedSession;
  readonly scheme: 'token' | 'bearer';
}
