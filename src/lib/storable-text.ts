/**
 * Why a text cannot be stored as it is by every supported database:
 * - `nul`: PostgreSQL's `text` cannot hold U+0000 (the driver fails the whole statement, which
 *   would read as an outage);
 * - `lone_surrogate`: half of a UTF-16 pair has no UTF-8 form, so the drivers silently store
 *   U+FFFD instead (a value that no longer equals the one the request sent).
 */
export type UnstorableReason = 'nul' | 'lone_surrogate';

/** With the `u` flag a surrogate pair is one code point, so only a lone surrogate matches. */
const LONE_SURROGATE = /\p{Cs}/u;

/** The reason `text` cannot be stored as it is, or `undefined` when every database can store it. */
export function unstorableReason(text: string): UnstorableReason | undefined {
  if (text.includes('\u0000')) return 'nul';
  if (LONE_SURROGATE.test(text)) return 'lone_surrogate';
  return undefined;
}

/**
 * The first `max` UTF-16 code units of `text`, one fewer when the cut would split a surrogate
 * pair (so the result is never less valid than the input).
 */
export function truncateText(text: string, max: number): string {
  if (text.length <= max) return text;
  const last = text.charCodeAt(max - 1);
  const end = last >= 0xd800 && last <= 0xdbff ? max - 1 : max;
  return text.slice(0, end);
}
