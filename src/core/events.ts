import type { UserId } from './session.js';

/** Why a session ended or was refused, as events and `end_reason` record it. Append only. */
export type SessionEndReason =
  | 'user_agent_changed'
  | 'revoked_by_user'
  | 'logout'
  | 'revoked_all'
  | 'session_limit'
  | 'idle_timeout'
  | 'admin'
  | 'blacklisted'
  | 'refresh_reuse'
  | 'renewed'
  | 'password_changed'
  | 'purged';

// A record, so that the compiler insists every reason is listed.
const END_REASONS: Readonly<Record<SessionEndReason, true>> = {
  user_agent_changed: true,
  revoked_by_user: true,
  logout: true,
  revoked_all: true,
  session_limit: true,
  idle_timeout: true,
  admin: true,
  blacklisted: true,
  refresh_reuse: true,
  renewed: true,
  password_changed: true,
  purged: true,
};

/** Every {@link SessionEndReason}, for stores that validate what they read. */
export const SESSION_END_REASONS = Object.keys(END_REASONS) as readonly SessionEndReason[];

/**
 * A lifecycle event. Carries ids, never a token. `ts` is ISO 8601 UTC.
 */
export type SessionEvent =
  | {
      readonly type: 'session_created';
      readonly ts: string;
      readonly sessionId: string;
      readonly userId: UserId;
      readonly ip: string;
      readonly userAgent: string;
    }
  | {
      readonly type: 'session_suspended';
      readonly ts: string;
      readonly sessionId: string;
      readonly userId: UserId;
      readonly ip: string;
      readonly userAgent: string;
      readonly reason: 'user_agent_changed' | 'idle_timeout';
    }
  | {
      readonly type: 'session_revoked';
      readonly ts: string;
      readonly sessionId: string;
      readonly userId: UserId;
      readonly reason: SessionEndReason;
    }
  | {
      readonly type: 'session_ip_changed';
      readonly ts: string;
      readonly sessionId: string;
      readonly userId: UserId;
      readonly previousIp: string;
      readonly ip: string;
    }
  | {
      readonly type: 'sessions_purged';
      readonly ts: string;
      readonly count: number;
    };

/** Where the library reports what it cannot throw: failed background writes, cache faults. */
export interface SessionLogger {
  warn(message: string, details?: Record<string, unknown>): void;
  /** Failures that make requests fail (a store outage). Default: `warn`. */
  error?(message: string, details?: Record<string, unknown>): void;
}
