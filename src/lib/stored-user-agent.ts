import { truncateText } from './storable-text.js';

/**
 * The most of a `User-Agent` header a session keeps, in UTF-16 code units. The column is `text`
 * (64 KiB on MySQL, which a header of a server with a raised header limit can exceed), but no
 * browser sends a tenth of this; a longer header is cut, at a code-point boundary, on sign-in and
 * on every later request alike, so the user-agent policy compares like with like. It also keeps
 * a client from making every row and cache entry of its sessions 16 KB.
 */
export const MAX_USER_AGENT_LENGTH = 1024;

/** The `User-Agent` as sessions store and compare it: {@link MAX_USER_AGENT_LENGTH} at most. */
export function storedUserAgent(header: string | undefined): string {
  return header === undefined ? '' : truncateText(header, MAX_USER_AGENT_LENGTH);
}
