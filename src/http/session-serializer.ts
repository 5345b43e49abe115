import type { SessionRecord, UserId } from '../core/session.js';
import { type UserAgentData, userAgentData } from '../useragent/user-agent-data.js';

/** One item of `GET P+active`, fields in the contract's order (docs/contract.md). */
export interface SessionListItem {
  readonly session_id: string;
  readonly user_id: UserId;
  readonly user_agent_data: UserAgentData;
  readonly last_online: string;
  readonly last_ip: string;
  readonly created_at: string;
  readonly expire_at: string | null;
  readonly is_current: boolean;
}

/**
 * The one serializer of a session for clients: an explicit field list, so neither the key hash
 * nor anything added to the record later can leak.
 */
export function serializeSession(session: SessionRecord, currentSessionId: string | undefined): SessionListItem {
  return {
    session_id: session.id,
    user_id: session.userId,
    user_agent_data: userAgentData(session.userAgent),
    last_online: session.lastOnline.toISOString(),
    last_ip: session.lastIp,
    created_at: session.createdAt.toISOString(),
    expire_at: session.expireAt === null ? null : session.expireAt.toISOString(),
    is_current: session.id === currentSessionId,
  };
}
