import { unstorableReason } from '../lib/storable-text.js';

export { MAX_USER_AGENT_LENGTH, storedUserAgent } from '../lib/stored-user-agent.js';

import type { ApiResponse } from './api-types.js';
import { badRequest } from './error-responses.js';

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
