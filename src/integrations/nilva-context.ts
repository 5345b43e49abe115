import type { CachedSession } from '../core/session-cache.js';
import type { RegisteredUser } from '../index.js';

/**
 * What the integrations attach to an authenticated request (`req.nilva` in Express,
 * `request.nilva` in Fastify, `c.get('nilva')` in Hono). Named so that it never collides with
 * `req.session` of cookie-session libraries.
 *
 * `TUser` defaults to the user type the application declared in `Register` (`unknown` when it
 * declared none).
 */
export interface NilvaContext<TUser = RegisteredUser> {
  readonly user: TUser;
  /** The session (no token in it). */
  readonly session: CachedSession;
  readonly scheme: 'token' | 'bearer';
}
