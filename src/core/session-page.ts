import type { SessionRecord } from './session.js';
import type { ActivePage, ActivePagePosition } from './session-store.js';

/** A page of a user's active sessions (see `SessionManager.listSessionsPage`). */
export interface SessionPage {
  readonly sessions: readonly SessionRecord[];
  /** Where the next page starts, or `undefined` when this is the last page. */
  readonly next: ActivePagePosition | undefined;
}

/**
 * `listActive`'s whole answer cut to one page, for a store without `listActivePage`: the
 * sessions after `page.after` in the same order (`last_online` newest first, then `id`).
 */
export function pageOfList(all: readonly SessionRecord[], page: ActivePage): SessionRecord[] {
  const after = page.after;
  const start = after === undefined ? 0 : all.findIndex((s) => comesAfter(s, after));
  return start === -1 ? [] : all.slice(start, start + page.limit);
}

function comesAfter(session: SessionRecord, position: ActivePagePosition): boolean {
  const t = session.lastOnline.getTime();
  const p = position.lastOnline.getTime();
  return t < p || (t === p && session.id > position.id);
}
