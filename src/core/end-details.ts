import { messages } from './errors.js';
import type { SessionEndReason } from './events.js';
import type { SessionEnd } from './session.js';

/**
 * The sentence stored in `detail` for each way a session ends, for people reading the devices
 * list or the admin pages. Behaviour is keyed on the code (`end_reason`), never on these: an
 * administrator may edit a detail. Changing a sentence here is safe for new rows; migration 4
 * maps the sentences of rows written before the code existed, so keep the old ones there.
 */
export const END_DETAILS: Readonly<Record<SessionEndReason, string>> = {
  user_agent_changed: messages.userAgentChangedDetail,
  revoked_by_user: 'Revoked by the user.',
  logout: 'Logged out.',
  revoked_all: 'Revoked with all of the user’s sessions.',
  session_limit: 'Ended: the user reached the session limit.',
  idle_timeout: 'Ended: idle for too long.',
  admin: 'Revoked by an administrator.',
  blacklisted: 'Logged out: refresh token blacklisted.',
  refresh_reuse: 'Revoked: a rotated refresh token was used again.',
  renewed: 'Replaced by a renewed session.',
  password_changed: 'Ended: the password was changed.',
  purged: 'Purged.',
};

/** The code and sentence a session ending for `reason` records. */
export function sessionEnd(reason: SessionEndReason): SessionEnd {
  return { reason, detail: END_DETAILS[reason] };
}
