import type { SessionRecord, SessionRef, UserId } from '../core/session.js';
import type { SessionAdminStore } from '../core/session-admin-store.js';
import type { SessionCache } from '../core/session-cache.js';
import type { SessionManager } from '../core/session-manager.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';

/** What an administrator did, for the audit log. Never carries a token or key hash. */
export interface AdminAuditEvent {
  readonly type: 'admin_session_deactivated' | 'admin_session_reactivated' | 'admin_session_detail_changed' | 'admin_session_deleted';
  /** ISO 8601 UTC. */
  readonly ts: string;
  /** The administrator's user id. */
  readonly actorUserId: UserId;
  readonly sessionId: string;
  /** The owner of the session. */
  readonly userId: UserId;
}

/** Options of {@link AdminService}. */
export interface AdminServiceOptions {
  /** The application's session manager: deactivations go through it. */
  readonly manager: SessionManager<unknown>;
  readonly adminStore: SessionAdminStore;
  /**
   * The same cache instance given to the manager. Optional: correctness does not depend on it
   * (see {@link AdminService}); when given, every admin write also clears it directly.
   */
  readonly cache?: SessionCache | undefined;
  /** Receives one event per changed session. Exceptions are swallowed. */
  readonly onAudit?: ((event: AdminAuditEvent) => void) | undefined;
}

/** The editable fields, as an administrator submitted them. */
export interface AdminEdit {
  readonly isActive: boolean;
  /** `null` for none. */
  readonly detail: string | null;
}

/**
 * Every change the admin pages make to sessions, with the caches kept right:
 *
 * - **Deactivation** (edit, bulk action, delete) goes through `SessionManager.revokeSession(id,
 *   'admin')`, like any other revoke path: the store write, then the invalidation of every cache
 *   (here and, through Redis, in every process), then the `session_revoked` event.
 * - **Delete** deactivates active sessions that way first, then deletes the rows: a deleted
 *   session can never be served from a cache, even without the `cache` option.
 * - **Reactivation and detail edits** write the store only (`is_active`, `detail`); caches hold
 *   only active sessions and never the detail, so nothing stale can be served. With the `cache`
 *   option the entries are cleared anyway, after every write, as defence in depth.
 *
 * Each changed session yields an {@link AdminAuditEvent} carrying the administrator's id.
 */
export class AdminService {
  readonly #manager: SessionManager<unknown>;
  readonly #store: SessionAdminStore;
  readonly #cache: SessionCache | undefined;
  readonly #onAudit: ((event: AdminAuditEvent) => void) | undefined;

  constructor(options: AdminServiceOptions) {
    if (typeof options?.manager?.revokeSession !== 'function')
      throw new TypeError('nilva-session: option "manager" must be a SessionManager');
    if (typeof options.adminStore?.list !== 'function')
      throw new TypeError('nilva-session: option "adminStore" must be a SessionAdminStore');
    assertKnownOptions(
      'AdminService',
      options,
      optionNames<AdminServiceOptions>({ manager: true, adminStore: true, cache: true, onAudit: true }),
    );
    this.#manager = options.manager;
    this.#store = options.adminStore;
    this.#cache = options.cache;
    this.#onAudit = options.onAudit;
  }

  /** Ends these sessions (reason `admin`); returns how many were active. */
  async deactivate(ids: readonly string[], actor: UserId): Promise<number> {
    let ended = 0;
    for (const id of new Set(ids)) {
      const session = await this.#store.findById(id);
      if (session === undefined || !session.isActive) continue;
      if (await this.#manager.revokeSession(session.id, 'admin')) {
        ended++;
        this.#audit('admin_session_deactivated', actor, session);
      }
    }
    return ended;
  }

  /**
   * Ends every active session of one user, each through the
   * manager and audited; returns how many.
   */
  async deactivateUser(userId: UserId, actor: UserId): Promise<number> {
    let ended = 0;
    for (;;) {
      const page = await this.#store.list({ status: 'active', userId, limit: 500, now: new Date(this.#manager.now()) });
      const before = ended;
      ended += await this.deactivate(
        page.sessions.map((s) => s.id),
        actor,
      );
      // Stop when a round ends nothing: what is left is being ended concurrently, or is gone.
      if (!page.hasMore || ended === before) return ended;
    }
  }

  /**
   * Applies an edit of `is_active` and `detail`. Deactivating records the manager's detail
   * ("Revoked by an administrator.") unless the administrator changed the detail too. Returns
   * the session as it is now, or `undefined` when it does not exist.
   */
  async edit(id: string, edit: AdminEdit, actor: UserId): Promise<SessionRecord | undefined> {
    const before = await this.#store.findById(id);
    if (before === undefined) return undefined;
    let ref: SessionRef | undefined;
    if (before.isActive && !edit.isActive) {
      if (await this.#manager.revokeSession(before.id, 'admin')) this.#audit('admin_session_deactivated', actor, before);
    } else if (!before.isActive && edit.isActive) {
      ref = await this.#store.update(before.id, { isActive: true });
      if (ref !== undefined) this.#audit('admin_session_reactivated', actor, before);
    }
    if (edit.detail !== before.detail) {
      ref = await this.#store.update(before.id, { detail: edit.detail });
      if (ref !== undefined) this.#audit('admin_session_detail_changed', actor, before);
    }
    if (ref !== undefined) await this.#invalidate([ref]);
    return this.#store.findById(before.id);
  }

  /** Deletes these sessions (active ones are ended through the manager first); returns how many. */
  async delete(ids: readonly string[], actor: UserId): Promise<number> {
    const unique = [...new Set(ids)];
    for (const id of unique) {
      const session = await this.#store.findById(id);
      if (session?.isActive === true) await this.#manager.revokeSession(session.id, 'admin');
    }
    const refs = await this.#store.delete(unique);
    await this.#invalidate(refs);
    for (const ref of refs) this.#audit('admin_session_deleted', actor, ref);
    return refs.length;
  }

  async #invalidate(refs: readonly SessionRef[]): Promise<void> {
    if (this.#cache === undefined || refs.length === 0) return;
    try {
      await this.#cache.invalidate(refs);
    } catch {
      // Defence in depth only (see the class comment): the manager already cleared what matters.
    }
  }

  #audit(type: AdminAuditEvent['type'], actor: UserId, session: SessionRef): void {
    if (this.#onAudit === undefined) return;
    try {
      this.#onAudit({
        type,
        ts: new Date(this.#manager.now()).toISOString(),
        actorUserId: actor,
        sessionId: session.id,
        userId: session.userId,
      });
    } catch {
      // An audit sink that throws must not undo or hide the change.
    }
  }
}
