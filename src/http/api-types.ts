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
  /** The raw `Cookie` header (read only in cookie mode, `SessionApiOptions.cookie`). */
  readonly cookie?: string | undefined;
  /** The raw `Origin` header (cookie mode's CSRF check). */
  readonly origin?: string | undefined;
  /** The raw `Sec-Fetch-Site` header (cookie mode's CSRF check; browsers set it, scripts cannot). */
  readonly secFetchSite?: string | undefined;
  /** The raw `Host` header: the request's own origin is its scheme and this (cookie mode's CSRF check). */
  readonly host?: string | undefined;
  /** The raw `X-CSRF-Token` header (cookie mode's CSRF check). */
  readonly csrfToken?: string | undefined;
  readonly contentType: string | undefined;
  /** The raw body, read by the integration up to the size limit. */
  readonly body: string | undefined;
}

/** A response: status, headers and an already-serialised body. */
export interface ApiResponse {
  readonly status: number;
  readonly headers: Readonly<Record<string, string>>;
  /**
   * `Set-Cookie` values, each sent as a header of its own (one header cannot carry two cookies).
   * Only cookie mode sets them; an integration sends them next to `headers`.
   */
  readonly setCookies?: readonly string[] | undefined;
  /** JSON text, or undefined for no body (204). */
  readonly body: string | undefined;
}

/**
 * What `SessionApi.authenticate` reads of a request: the `Authorization` header and the socket
 * facts, and for cookie mode the method, the `Cookie` header and the CSRF check's headers. A
 * request without `method` counts as state-changing (its cookie needs the CSRF check).
 */
export type ApiCredentialFacts = Pick<
  ApiRequest,
  'authorization' | 'userAgent' | 'remoteAddress' | 'forwardedFor' | 'encrypted' | 'forwardedProto'
> &
  Partial<Pick<ApiRequest, 'method' | 'cookie' | 'origin' | 'secFetchSite' | 'host' | 'csrfToken'>>;
