import type { ActivePage, ActivePagePosition } from '../core/session-store.js';
import type { ApiResponse } from './api-types.js';
import { badRequest } from './error-responses.js';

/** Most sessions one page of `GET active` may ask for. */
export const MAX_PAGE_LIMIT = 1000;
/** The page size when a `cursor` comes without a `limit`. */
export const DEFAULT_PAGE_LIMIT = 100;

const LIMIT = /^[0-9]{1,4}$/;
const CURSOR = /^[A-Za-z0-9_-]{1,100}$/;
const POSITION = /^([0-9]{1,15})\.([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/**
 * The page `GET active` asks for: `undefined` without `limit` and `cursor` (the contract's
 * whole list), the page, or the 400 naming the bad value.
 */
export function activePageQuery(query: URLSearchParams): ActivePage | undefined | ApiResponse {
  const limitText = query.get('limit');
  const cursorText = query.get('cursor');
  if (limitText === null && cursorText === null) return undefined;
  let limit = DEFAULT_PAGE_LIMIT;
  if (limitText !== null) {
    const n = LIMIT.test(limitText) ? Number(limitText) : Number.NaN;
    if (!(n >= 1 && n <= MAX_PAGE_LIMIT)) {
      return badRequest(`Invalid limit ${JSON.stringify(limitText.slice(0, 20))}: give an integer from 1 to ${MAX_PAGE_LIMIT}.`);
    }
    limit = n;
  }
  if (cursorText === null) return { limit };
  const after = decodeCursor(cursorText);
  if (after === undefined) return badRequest('Invalid cursor: use the one in the Link header of the previous page.');
  return { limit, after };
}

/**
 * The opaque cursor of a position: base64url of `<last_online ms>.<id>`. Not secret (it names
 * the caller's own session and a time), only opaque, so clients do not build it themselves.
 */
export function encodeCursor(position: ActivePagePosition): string {
  return Buffer.from(`${position.lastOnline.getTime()}.${position.id}`, 'utf8').toString('base64url');
}

function decodeCursor(text: string): ActivePagePosition | undefined {
  if (!CURSOR.test(text)) return undefined;
  const match = POSITION.exec(Buffer.from(text, 'base64url').toString('utf8'));
  if (match === null) return undefined;
  return { lastOnline: new Date(Number(match[1])), id: match[2] as string };
}

/**
 * The `Link` header of a page that has a next one: a relative reference (`?limit=…&cursor=…`),
 * which resolves against the request's own URL whatever prefix the API is mounted at.
 */
export function nextPageLink(limit: number, next: ActivePagePosition): string {
  return `<?limit=${limit}&cursor=${encodeCursor(next)}>; rel="next"`;
}
