import { messages, SessionError } from './errors.js';

/** The outcome of reading an `Authorization` header. */
export type ParsedAuthorization =
  /** No header, an empty one, or a scheme this library does not handle: anonymous. */
  | { readonly scheme: 'none' }
  | { readonly scheme: 'token'; readonly credentials: string }
  | { readonly scheme: 'bearer'; readonly credentials: string }
  | { readonly scheme: 'invalid'; readonly error: SessionError };

const NONE: ParsedAuthorization = Object.freeze({ scheme: 'none' });

/** Python's `bytes.split()` separators: space, \t, \n, \v, \f, \r. */
function isAsciiSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

/**
 * Whether the value holds one of `bytes.split()`'s separators other than the space. Five
 * `indexOf` scans, not a regular expression: on a JWT's 300 characters they take about a quarter
 * of the time, and this runs on every request.
 */
function hasOtherAsciiSpace(value: string): boolean {
  return (
    value.indexOf('\t') !== -1 ||
    value.indexOf('\n') !== -1 ||
    value.indexOf('\r') !== -1 ||
    value.indexOf('\v') !== -1 ||
    value.indexOf('\f') !== -1
  );
}

/** Splits on runs of ASCII whitespace, as `bytes.split()` does. */
function splitWords(value: string): string[] {
  const words: string[] = [];
  let start = -1;
  for (let i = 0; i < value.length; i++) {
    if (isAsciiSpace(value.charCodeAt(i))) {
      if (start >= 0) {
        words.push(value.slice(start, i));
        start = -1;
      }
    } else if (start < 0) {
      start = i;
    }
  }
  if (start >= 0) words.push(value.slice(start));
  return words;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Node hands header values over as latin1 (one character per byte). Returns the value decoded
 * as UTF-8, or `undefined` when its bytes are not valid UTF-8.
 */
function decodeHeaderBytes(value: string): string | undefined {
  let ascii = true;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c > 0xff) return value; // already decoded text, not raw bytes
    if (c > 0x7f) ascii = false;
  }
  if (ascii) return value;
  try {
    return utf8.decode(Buffer.from(value, 'latin1'));
  } catch {
    return undefined;
  }
}

/**
 * Reads an `Authorization` header with the exact rules of DRF's `TokenAuthentication` (scheme
 * case-insensitive) and simplejwt's `JWTAuthentication` (scheme case-sensitive).
 * Pure and synchronous: no I/O happens before a header is well formed.
 *
 * @param header - the raw header value (Node's latin1 string), or undefined
 * @param tokenKeyword - e.g. `Token`; `null` when opaque tokens are off
 * @param bearerKeyword - e.g. `Bearer`; `null` when JWTs are off
 */
export function parseAuthorization(
  header: string | undefined,
  tokenKeyword: string | null,
  bearerKeyword: string | null,
): ParsedAuthorization {
  if (header === undefined || header.length === 0) return NONE;
  // Fast path for the common, well-formed "<Scheme> <credentials>" header.
  const space = header.indexOf(' ');
  let words: string[];
  if (space > 0 && space < header.length - 1 && header.indexOf(' ', space + 1) === -1 && !hasOtherAsciiSpace(header)) {
    words = [header.slice(0, space), header.slice(space + 1)];
  } else {
    words = splitWords(header);
  }
  const scheme = words[0];
  if (scheme === undefined) return NONE;
  if (tokenKeyword !== null && scheme.toLowerCase() === tokenKeyword.toLowerCase()) {
    if (words.length === 1) return invalid('ERR_HEADER_NO_CREDENTIALS', messages.headerNoCredentials);
    if (words.length > 2) return invalid('ERR_HEADER_SPACES', messages.headerSpaces);
    const credentials = decodeHeaderBytes(words[1] as string);
    if (credentials === undefined) return invalid('ERR_HEADER_INVALID_CHARACTERS', messages.headerInvalidCharacters);
    return { scheme: 'token', credentials };
  }
  if (bearerKeyword !== null && scheme === bearerKeyword) {
    if (words.length !== 2) {
      return invalid('ERR_BAD_AUTHORIZATION_HEADER', 'Authorization header must contain two space-delimited values');
    }
    return { scheme: 'bearer', credentials: words[1] as string };
  }
  return NONE;
}

function invalid(code: SessionError['code'], message: string): ParsedAuthorization {
  return { scheme: 'invalid', error: new SessionError(code, message) };
}
