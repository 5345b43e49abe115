import { truncateText, unstorableReason } from '../lib/storable-text.js';
import type { ApiResponse } from './api-types.js';
import { badRequest } from './error-responses.js';

/**
 * The most of a `User-Agent` header a session keeps, in UTF-16 code units. The column is `text`
 * (64 KiB on MySQL, which a header of a server with a raised header limit can exceed), but no
 * browser sends a tenth of this; a longer header is cut here, at a code-point boundary, on
 * sign-in and on every later request alike, so the user-agent policy compares like with like.
 * It also keeps a client from making every row and cache entry of its sessions 16 KB.
 */
export const MAX_USER_AGENT_LENGTH = 1024;

/** The `User-Agent` as sessions store and compare it: {@link MAX_USER_AGENT_LENGTH} at most. */
export function storedUserAgent(header: string | undefined): string {
  return header === undefined ? '' : truncateText(header, MAX_USER_AGENT_LENGTH);
}

/**
 * 400 naming the header when the `User-Agent` holds what no database can store (NUL, a lone
 * surrogate). Node's HTTP parser already answers 400 to a NUL in any header, and a header never
 * holds a surrogate (its bytes arrive as latin1), so only a caller of `handle` that builds the
 * request itself meets this; it is refused rather than altered, as the body fields are.
 */
export function userAgentProblem(header: string | undefined): ApiResponse | undefined {
  if (header === undefined) return undefined;
  const reason = unstorableReason(header);
  if (reason === 'nul') return badRequest('User-Agent header: null characters are not allowed.');
  if (reason === 'lone_surrogate') return badRequest('User-Agent header: not a valid string.');
  return undefined;
}
