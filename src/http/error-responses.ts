import { messages, type SessionError, type SessionErrorCode } from '../core/errors.js';
import type { ApiResponse } from './api-types.js';

const JSON_TYPE = 'application/json';

/** How each stable code is answered over HTTP (docs/contract.md). The core knows no status codes. */
const STATUS: Readonly<Record<SessionErrorCode, number>> = {
  ERR_NOT_AUTHENTICATED: 401,
  ERR_HEADER_NO_CREDENTIALS: 401,
  ERR_HEADER_SPACES: 401,
  ERR_HEADER_INVALID_CHARACTERS: 401,
  ERR_SESSION_INVALID: 401,
  ERR_SESSION_SUSPENDED: 401,
  ERR_SESSION_EXPIRED: 401,
  ERR_SESSION_IDLE: 401,
  ERR_USER_AGENT_CHANGED: 401,
  ERR_USER_INACTIVE: 401,
  ERR_SESSION_NOT_FOUND: 401,
  ERR_BAD_AUTHORIZATION_HEADER: 401,
  ERR_TOKEN_NOT_VALID: 401,
  ERR_TOKEN_NO_SESSION: 401,
  ERR_REFRESH_INVALID: 401,
  ERR_REFRESH_BLACKLISTED: 401,
  ERR_NO_ACTIVE_ACCOUNT: 401,
  ERR_INSECURE_TRANSPORT: 403,
  ERR_SESSION_LIMIT: 403,
  ERR_REAUTHENTICATION_REQUIRED: 403,
  ERR_CSRF_FAILED: 403,
  ERR_CONFLICTING_CREDENTIALS: 400,
  ERR_STORE_UNAVAILABLE: 503,
  ERR_STORE_NOT_READY: 503,
};

/** Codes whose body carries a simplejwt-style `code` next to `detail`. */
const BODY_CODES: Partial<Record<SessionErrorCode, string>> = {
  ERR_BAD_AUTHORIZATION_HEADER: 'bad_authorization_header',
  ERR_TOKEN_NO_SESSION: 'token_not_valid',
  ERR_REFRESH_INVALID: 'token_not_valid',
  ERR_REFRESH_BLACKLISTED: 'token_not_valid',
  ERR_NO_ACTIVE_ACCOUNT: 'no_active_account',
  ERR_INSECURE_TRANSPORT: 'insecure_transport',
  ERR_SESSION_LIMIT: 'session_limit',
  ERR_REAUTHENTICATION_REQUIRED: 'reauthentication_required',
  ERR_CSRF_FAILED: 'csrf_failed',
  ERR_CONFLICTING_CREDENTIALS: 'conflicting_credentials',
};

/** A JSON response. */
export function json(status: number, body: unknown, headers: Record<string, string> = {}): ApiResponse {
  return { status, headers: { 'content-type': JSON_TYPE, ...headers }, body: JSON.stringify(body) };
}

/**
 * The response for a `SessionError`: 401 with `WWW-Authenticate` naming the first configured
 * scheme, or 503 for infrastructure failure. With `genericErrors`, every credential failure
 * reads `Invalid token.`.
 */
export function errorResponse(error: SessionError, challenge: string, genericErrors: boolean): ApiResponse {
  const status = STATUS[error.code];
  // The client learns only that the service is down; the cause is for the logs.
  if (status === 503) return json(503, { detail: messages.storeUnavailable }, { 'retry-after': '5' });
  const code = BODY_CODES[error.code];
  // A 403 is about what the caller may do, not who it is, and a 400 about how the request is
  // built: no challenge, and never generic.
  if (status === 403 || status === 400) return json(status, { detail: error.message, code });
  if (genericErrors && error.code !== 'ERR_NOT_AUTHENTICATED') {
    return json(401, { detail: 'Invalid token.' }, { 'www-authenticate': challenge });
  }
  if (error.code === 'ERR_TOKEN_NOT_VALID') {
    // simplejwt's shape: the reason goes into `messages`, per token class tried.
    const body = {
      detail: 'Given token not valid for any token type',
      code: 'token_not_valid',
      messages: [{ token_class: 'AccessToken', token_type: 'access', message: error.message }],
    };
    return json(401, body, { 'www-authenticate': challenge });
  }
  const body = code === undefined ? { detail: error.message } : { detail: error.message, code };
  return json(status, body, { 'www-authenticate': challenge });
}

/** 400 with a `detail`. */
export function badRequest(detail: string): ApiResponse {
  return json(400, { detail });
}
