/**
 * Stable error codes. The core knows no HTTP status: the HTTP layer maps each code to a
 * status, a DRF-shaped body and a `WWW-Authenticate` header.
 */
export type SessionErrorCode =
  /** No credentials were presented on a route that needs them. */
  | 'ERR_NOT_AUTHENTICATED'
  /** `Token` with nothing after it. */
  | 'ERR_HEADER_NO_CREDENTIALS'
  /** `Token a b`. */
  | 'ERR_HEADER_SPACES'
  /** Bytes that are not UTF-8. */
  | 'ERR_HEADER_INVALID_CHARACTERS'
  /** Unknown or malformed opaque token. */
  | 'ERR_SESSION_INVALID'
  /** Revoked or suspended session (opaque token). */
  | 'ERR_SESSION_SUSPENDED'
  /** Past `expire_at`. */
  | 'ERR_SESSION_EXPIRED'
  /** Unused for longer than `idleTimeoutSeconds`. */
  | 'ERR_SESSION_IDLE'
  /** The user agent changed under the policy; the session was suspended. */
  | 'ERR_USER_AGENT_CHANGED'
  /** The session's user is inactive or no longer exists. */
  | 'ERR_USER_INACTIVE'
  /** A JWT's session does not exist or belongs to another user. */
  | 'ERR_SESSION_NOT_FOUND'
  /** `Bearer` followed by other than one word. */
  | 'ERR_BAD_AUTHORIZATION_HEADER'
  /** An access JWT failed verification; the message is simplejwt's reason ("Token is expired", …). */
  | 'ERR_TOKEN_NOT_VALID'
  /** An access JWT without the session claim. */
  | 'ERR_TOKEN_NO_SESSION'
  /** A refresh JWT that is bad, expired, or whose session has ended. */
  | 'ERR_REFRESH_INVALID'
  /** A refresh JWT whose session was ended through the blacklist endpoint. */
  | 'ERR_REFRESH_BLACKLISTED'
  /** A refresh JWT whose user is inactive or gone. */
  | 'ERR_NO_ACTIVE_ACCOUNT'
  /** Credentials over plain HTTP while `requireSecureTransport` is on. */
  | 'ERR_INSECURE_TRANSPORT'
  /** A login at `maxSessionsPerUser` with `sessionLimitAction: 'refuse'`. */
  | 'ERR_SESSION_LIMIT'
  /** The session's last authentication is older than a route's `requireFreshAuth` allows. */
  | 'ERR_REAUTHENTICATION_REQUIRED'
  /**
   * Cookie mode: a state-changing request authenticated by the session cookie (or a sign-in)
   * failed the CSRF check (origin not trusted, CSRF token missing or incorrect).
   */
  | 'ERR_CSRF_FAILED'
  /** Cookie mode: the `Authorization` header and the session cookie carry different credentials. */
  | 'ERR_CONFLICTING_CREDENTIALS'
  /** The store could not be reached. */
  | 'ERR_STORE_UNAVAILABLE'
  /**
   * The store is reachable but cannot serve: its table is missing, a migration is pending, or
   * `user_id` is of another type than configured. The message says which, and what to do.
   */
  | 'ERR_STORE_NOT_READY';

/**
 * The one error class of the library. `code` is stable; `message` is the text the HTTP
 * contract shows to clients; `cause` keeps the underlying error, if any.
 */
export class SessionError extends Error {
  override readonly name = 'SessionError';
  readonly code: SessionErrorCode;

  constructor(code: SessionErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** Messages of the contract (docs/contract.md), kept in one place. */
export const messages = {
  notAuthenticated: 'Authentication credentials were not provided.',
  headerNoCredentials: 'Invalid token header. No credentials provided.',
  headerSpaces: 'Invalid token header. Token string should not contain spaces.',
  headerInvalidCharacters: 'Invalid token header. Token string should not contain invalid characters.',
  invalidToken: 'Invalid token.',
  sessionSuspended: 'User session is suspended.',
  userInactive: 'User inactive or deleted.',
  storeUnavailable: 'Service temporarily unavailable.',
  idle: 'Session has expired due to inactivity.',
  userAgentChangedDetail: 'User suspended; because user agent changed!',
  sessionNotFound: 'Session not found.',
  userSuspended: 'User is suspended.',
  tokenNoSession: 'Token contained no recognizable session identification',
  refreshInvalid: 'Token is invalid or expired',
  tokenWrongType: 'Token has wrong type',
  refreshBlacklisted: 'Token is blacklisted',
  noActiveAccount: 'No active account found for the given token.',
  insecureTransport: 'Credentials must be sent over HTTPS.',
  sessionLimit: 'Too many active sessions: sign out on another device first.',
  reauthenticationRequired: 'This action needs a recent sign-in: sign in again and retry.',
  csrfTokenMissing: 'CSRF Failed: CSRF token missing.',
  csrfTokenIncorrect: 'CSRF Failed: CSRF token incorrect.',
  conflictingCredentials: 'The Authorization header and the session cookie carry different credentials: send only one.',
} as const;
