/** Attributes of the session cookie. */
export interface SessionCookieAttributes {
  /** Seconds until the browser drops it; omitted: until the browser closes. */
  readonly maxAgeSeconds?: number | undefined;
  /** Adds `Secure` (the request came over HTTPS). */
  readonly secure: boolean;
}

const COOKIE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
const COOKIE_VALUE = /^[A-Za-z0-9]{1,512}$/;

/** @throws TypeError naming the option unless `name` is 1 to 64 of `[A-Za-z0-9_-]` */
export function validateCookieName(name: unknown): string {
  if (typeof name !== 'string' || !COOKIE_NAME.test(name)) {
    throw new TypeError(`nilva-session: option "cookieName" must match /^[A-Za-z0-9_-]{1,64}$/, got ${JSON.stringify(name)}`);
  }
  return name;
}

/**
 * The value of the first cookie called `name` in a `Cookie` header, when it has the shape of a
 * token (`[A-Za-z0-9]`); anything else is treated as no cookie.
 */
export function readCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined || header.length > 16_384) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    const value = part.slice(eq + 1).trim();
    return COOKIE_VALUE.test(value) ? value : undefined;
  }
  return undefined;
}

/** Whether the `Cookie` header has a cookie called `name`, whatever its value. */
export function hasCookie(header: string | undefined, name: string): boolean {
  if (header === undefined) return false;
  return header.split(';').some((part) => {
    const eq = part.indexOf('=');
    return eq !== -1 && part.slice(0, eq).trim() === name;
  });
}

/**
 * `Set-Cookie` for the session: `HttpOnly` (scripts never see the token), `SameSite=Lax` (not
 * sent on cross-site POSTs), `Path=/`, `Max-Age` no longer than the session, `Secure` over HTTPS.
 */
export function sessionCookie(name: string, token: string, attributes: SessionCookieAttributes): string {
  if (!COOKIE_VALUE.test(token)) throw new TypeError('nilva-session: a session cookie carries a token of [A-Za-z0-9]');
  const maxAge = attributes.maxAgeSeconds === undefined ? '' : `; Max-Age=${Math.max(0, Math.floor(attributes.maxAgeSeconds))}`;
  return `${name}=${token}; Path=/${maxAge}; HttpOnly; SameSite=Lax${attributes.secure ? '; Secure' : ''}`;
}

/** `Set-Cookie` that deletes the session cookie (`Max-Age=0`). */
export function clearedSessionCookie(name: string, secure: boolean): string {
  return `${name}=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax${secure ? '; Secure' : ''}`;
}
