/**
 * A request as the framework-free API sees it. Integrations fill it from Express, Fastify or
 * Hono; nothing else of the framework reaches the handlers.
 */
export interface ApiRequest {
  /** Upper-case HTTP method. */
  readonly method: string;
  /** The path below the mount prefix, without a leading slash: `login`, `active`, … */
  readonly path: string;
  readonly query: URLSearchParams;
  /** The raw `Authorization` header. */
  readonly authorization: string | undefined;
  /** The raw `User-Agent` header. */
  readonly userAgent: string | undefined;
  /** The socket's peer address. */
  readonly remoteAddress: string | undefined;
  /** The raw `X-Forwarded-For` header (used only with `trustProxy`). */
  readonly forwardedFor: string | string[] | undefined;
  /**
   * Whether the connection to this server is TLS (the socket's `encrypted`). The integrations
   * fill it; `requireSecureTransport` treats its absence as plain HTTP.
   */
  readonly encrypted?: boolean | undefined;
  /** The raw `X-Forwarded-Proto` header (believed only from a trusted proxy, `trustProxy`). */
  readonly forwardedProto?: string | undefined;
  readonly contentType: string | undefined;
  /** The raw body, read by the integration up to the size limit. */
  readonly body: string | undefined;
}

/** A response: status, headers and an already-serialised body. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /** JSON text, or undefined for no body (204). */
  readonly body: string | undefined;
}
