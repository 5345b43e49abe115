/**
 * The web pages (`nilva-session/admin`): sign-in with an HttpOnly cookie, "your devices" for
 * every user, and the staff admin pages with their dashboard. Server-rendered, no build step, no
 * script. Mount them with `nilva-session/admin/express`, `/admin/fastify` or `/admin/hono`.
 *
 * @packageDocumentation
 */
export { type AdminCursor, decodeAdminCursor, encodeAdminCursor } from './admin-cursor.js';
export { type AdminAuditEvent, type AdminEdit, AdminService, type AdminServiceOptions } from './admin-service.js';
export { clearedSessionCookie, readCookie, type SessionCookieAttributes, sessionCookie } from './cookies.js';
export { escapeHtml, html, SafeHtml, trustedHtml } from './html.js';
export { type PagePaths, pageSecurityHeaders } from './page-layout.js';
export { MAX_PAGE_BODY_BYTES, type PageRequest, type PageResponse } from './page-request.js';
export { CONTENT_SECURITY_POLICY, PAGE_CSS } from './page-style.js';
export { exactTime, relativeTime } from './relative-time.js';
export {
  isSameOriginRequest,
  type OriginFacts,
  type OriginSource,
  requestOrigin,
  requestScheme,
  type TransportFacts,
} from './same-origin.js';
export { SessionPages, type SessionPagesOptions } from './session-pages.js';
