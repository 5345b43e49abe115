import type { ApiResponse } from '../http/api-types.js';

/**
 * A request as the framework-free pages see it. The integrations (`nilva-session/admin/express`,
 * `/fastify`, `/hono`) fill it; nothing else of the framework reaches the pages.
 */
export interface PageRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The URL path from the root, e.g. `/admin/sessions/…` (not below a mount). */
  readonly path: string;
  readonly query: URLSearchParams;
  readonly authorization: string | undefined;
  readonly cookie: string | undefined;
  readonly userAgent: string | undefined;
  readonly origin: string | undefined;
  readonly secFetchSite: string | undefined;
  readonly host: string | undefined;
  /** `X-Forwarded-Proto`; believed only from a trusted proxy (`trustProxy`). */
  readonly forwardedProto: string | undefined;
  readonly forwardedFor: string | string[] | undefined;
  readonly remoteAddress: string | undefined;
  /** Whether the connection is TLS. */
  readonly encrypted: boolean;
  readonly contentType: string | undefined;
  /** The raw body, read by the integration up to {@link MAX_PAGE_BODY_BYTES}. */
  readonly body: string | undefined;
}

/** A page response: status, headers, and the HTML (or nothing, for redirects). */
export type PageResponse = ApiResponse;

/** The largest form body the pages read, in bytes. Integrations answer 413 beyond it. */
export const MAX_PAGE_BODY_BYTES = 64 * 1024;
