import { pageHeaders } from './page-layout.js';
import type { PageRequest, PageResponse } from './page-request.js';

/** An HTML page with the pages' security headers. */
export function htmlPage(status: number, document: string, extra: Readonly<Record<string, string>> = {}): PageResponse {
  return { status, headers: pageHeaders(extra), body: document };
}

/** `303 See Other` to a path of this site (after every POST, and to the sign-in form). */
export function redirect(location: string, extra: Readonly<Record<string, string>> = {}): PageResponse {
  return { status: 303, headers: pageHeaders({ location, ...extra }), body: '' };
}

/**
 * The fields of an HTML form post (`application/x-www-form-urlencoded`), or `undefined` for
 * any other body type.
 */
export function readForm(req: Pick<PageRequest, 'contentType' | 'body'>): URLSearchParams | undefined {
  const type = (req.contentType ?? '').split(';', 1)[0]?.trim().toLowerCase();
  if (type !== 'application/x-www-form-urlencoded') return undefined;
  return new URLSearchParams(req.body ?? '');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The lowercase id when `value` is a UUID, else `undefined`. */
export function sessionIdParam(value: string | null | undefined): string | undefined {
  if (typeof value !== 'string') return undefined;
  const id = value.trim().toLowerCase();
  return UUID.test(id) ? id : undefined;
}
