import type { UserId } from './session.js';

/**
 * Every reason a session can end, as stored in `end_reason` and carried by events. Append only:
 * stored rows keep the codes they were written with.
 */
export const SESSION_END_REASONS = [
  'user_agent_changed',
  'revoked_by_user',
  'logout',
  'revoked_all',
  'session_limit',
  'idle_timeout',
  'admin',
  'blacklisted',
  'refresh_reuse',
  'renewed',
  'password_changed',
  'purged',
] as const;

/** Why a session ended or was refused, as events and `end_reason` record it. */
export type SessionEndReason = (typeof SESSION_END_REASONS)[number];

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
