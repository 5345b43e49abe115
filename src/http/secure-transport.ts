import { messages, SessionError, type SessionErrorCode } from '../core/errors.js';
import type { ApiResponse } from './api-types.js';
import { json } from './error-responses.js';

/** The stable code of the refusal, in the body and on the error. */
export const INSECURE_TRANSPORT_CODE = 'insecure_transport';

/** The detail of the refusal. */
export const INSECURE_TRANSPORT_DETAIL = messages.insecureTransport;

/** The error code of an {@link InsecureTransportError}. */
export const ERR_INSECURE_TRANSPORT: SessionErrorCode = 'ERR_INSECURE_TRANSPORT';

/**
 * Credentials arrived over plain HTTP while `requireSecureTransport` is on. What
 * `SessionApi.authenticate` fails with (before the token is looked at), answered 403.
 */
export class InsecureTransportError extends SessionError {
  constructor() {
    super(ERR_INSECURE_TRANSPORT, INSECURE_TRANSPORT_DETAIL);
  }
}

/**
 * The refusal: 403, since the request is well formed and the server understood it, but will not
 * act on credentials that crossed the network in clear text (they may have been read on the way;
 * the client must change how it connects, not what it sends). No `WWW-Authenticate`: new
 * credentials over the same channel would be refused the same way.
 */
export function insecureTransportResponse(): ApiResponse {
  return json(403, { detail: INSECURE_TRANSPORT_DETAIL, code: INSECURE_TRANSPORT_CODE });
}
