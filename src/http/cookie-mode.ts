import { createHash, timingSafeEqual } from 'node:crypto';
import { messages, SessionError } from '../core/errors.js';

/**
 * Options of cookie mode (`SessionApiOptions.cookie`), for single-page apps: `POST login` sets
 * an `HttpOnly` cookie holding the session token, and requests authenticate by it, with a CSRF
 * check of every state-changing one.
 */
export interface SessionApiCookieOptions {
  /**
   * The cookie's name: 1 to 64 of `[A-Za-z0-9_-]`. Default `nilva_session`. Over HTTPS the cookie
   * is `__Host-<name>` (browsers then refuse it from any other host, subdomains included).
   */
  readonly name?: string | undefined;
  /**
   * The cookies' `SameSite`. Default `'lax'`: sent on same-site requests (a SPA on
   * `app.example.com` calling `api.example.com`) and top-level navigations. `'none'`, needed
   * for a SPA on another site, is only valid with `Secure`: it is sent on HTTPS requests, and
   * over plain HTTP the cookies say `SameSite=Lax` instead (browsers would drop them).
   */
  readonly sameSite?: 'lax' | 'strict' | 'none' | undefined;
  /**
   * Origins other than the API's own whose state-changing requests the CSRF check accepts,
   * exactly as a browser sends `Origin`: `https://app.example.com`, `http://127.0.0.1:5173`
   * (scheme, host, optional port; no path, no trailing slash). Default none.
   */
  readonly trustedOrigins?: readonly string[] | undefined;
  /**
   * Whether `POST login` and `POST reauthenticate` still answer the `token` (next to
   * `session_id`, `expire_at` and `csrf_token`). Default `false`: a script, and so an XSS
   * payload, never sees the token.
   */
  readonly tokenInBody?: boolean | undefined;
}

/** Cookie mode's settings as `SessionApi.cookie` exposes them, defaults applied. */
export interface SessionApiCookie {
  /** The session cookie's name over plain HTTP. */
  readonly name: string;
  /** The session cookie's name over HTTPS: `__Host-<name>`. */
  readonly secureName: string;
  /** `SameSite` of both cookies (`'none'` only on HTTPS requests; `Lax` over plain HTTP). */
  readonly sameSite: 'lax' | 'strict' | 'none';
  /** The trusted origins, lower-cased. */
  readonly trustedOrigins: readonly string[];
  /** Whether the login and reauthenticate bodies carry the token. */
  readonly tokenInBody: boolean;
  /** The request header carrying the CSRF token: `X-CSRF-Token`. */
  readonly csrfHeaderName: string;
  /** The script-readable cookie holding the CSRF token over plain HTTP: `nilva_csrf`. */
  readonly csrfCookieName: string;
  /** The CSRF cookie's name over HTTPS: `__Host-nilva_csrf`. */
  readonly csrfCookieSecureName: string;
}

const COOKIE_NAME = /^[A-Za-z0-9_-]{1,64}$/;
/** What a session token can look like in a cookie; anything else is refused unlooked-up. */
const TOKEN_VALUE = /^[A-Za-z0-9]{1,512}$/;
/** Browsers keep a cookie for at most 400 days (RFC 6265bis), so no `Max-Age` is longer. */
export const MAX_COOKIE_AGE_SECONDS = 400 * 24 * 60 * 60;
const CSRF_COOKIE = 'nilva_csrf';
/** An `Origin` shown in a refusal is cut to this many characters. */
const SHOWN_ORIGIN = 200;

/** What a request's `Cookie` header holds of the session cookie. */
export type SessionCookieRead =
  | { readonly kind: 'none' }
  /** Present, but empty of a token's shape (another alphabet, over 512 characters). */
  | { readonly kind: 'malformed' }
  | { readonly kind: 'token'; readonly token: string }
  /** Two cookies of that name with different values (one may have been planted). */
  | { readonly kind: 'conflict' };

const NONE: SessionCookieRead = Object.freeze({ kind: 'none' });
const MALFORMED: SessionCookieRead = Object.freeze({ kind: 'malformed' });
const CONFLICT: SessionCookieRead = Object.freeze({ kind: 'conflict' });

/** What the CSRF check reads of a request. */
export interface CsrfFacts {
  readonly origin?: string | undefined;
  readonly secFetchSite?: string | undefined;
  readonly csrfToken?: string | undefined;
}

/**
 * The CSRF token of a session: base64url(SHA-256(`nilva-csrf:` + token)). Derived, so nothing is
 * stored; one-way, so the script-readable value tells nothing of the `HttpOnly` token.
 */
export function csrfTokenFor(token: string): string {
  return createHash('sha256').update(`nilva-csrf:${token}`).digest('base64url');
}

function fail(option: string, expected: string, got: unknown): never {
  throw new TypeError(`nilva-session: option "cookie.${option}" must be ${expected}, got ${JSON.stringify(got)}`);
}

/** An exact origin, lower-cased. @throws TypeError naming the entry otherwise */
function trustedOrigin(entry: unknown, index: number): string {
  const bad = (): never =>
    fail(`trustedOrigins[${index}]`, 'an origin such as "https://app.example.com" (scheme, host, optional port; no path)', entry);
  if (typeof entry !== 'string') return bad();
  const lower = entry.toLowerCase();
  let url: URL;
  try {
    url = new URL(lower);
  } catch {
    return bad();
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== lower) return bad();
  return lower;
}

/** Cookie mode of one `SessionApi`: its settings, cookies and CSRF check. */
export class CookieMode {
  readonly settings: SessionApiCookie;
  readonly #trusted: ReadonlySet<string>;

  /** @throws TypeError naming the bad option */
  constructor(options: SessionApiCookieOptions | true) {
    const o: SessionApiCookieOptions = options === true ? {} : options;
    if (typeof o !== 'object' || o === null || Array.isArray(o)) fail('', 'true or an object', o);
    const known = new Set(['name', 'sameSite', 'trustedOrigins', 'tokenInBody']);
    for (const key of Object.keys(o)) {
      if (!known.has(key)) throw new TypeError(`nilva-session: unknown option "cookie.${key}" (known: ${[...known].join(', ')})`);
    }
    const name = o.name ?? 'nilva_session';
    if (typeof name !== 'string' || !COOKIE_NAME.test(name)) fail('name', 'a match of /^[A-Za-z0-9_-]{1,64}$/', name);
    if (name === CSRF_COOKIE) fail('name', `other than the CSRF cookie's "${CSRF_COOKIE}"`, name);
    const sameSite = o.sameSite ?? 'lax';
    if (sameSite !== 'lax' && sameSite !== 'strict' && sameSite !== 'none') fail('sameSite', '"lax", "strict" or "none"', sameSite);
    const origins: unknown = o.trustedOrigins ?? [];
    if (!Array.isArray(origins)) fail('trustedOrigins', 'an array of origins', origins);
    const trustedOrigins = Object.freeze((origins as unknown[]).map(trustedOrigin));
    const tokenInBody: unknown = o.tokenInBody ?? false;
    if (typeof tokenInBody !== 'boolean') fail('tokenInBody', 'a boolean', tokenInBody);
    this.settings = Object.freeze({
      name,
      secureName: `__Host-${name}`,
      sameSite,
      trustedOrigins,
      tokenInBody: tokenInBody as boolean,
      csrfHeaderName: 'X-CSRF-Token',
      csrfCookieName: CSRF_COOKIE,
      csrfCookieSecureName: `__Host-${CSRF_COOKIE}`,
    });
    this.#trusted = new Set(trustedOrigins);
  }

  /**
   * The session cookie of a `Cookie` header: `__Host-<name>` on an HTTPS request, `<name>` over
   * plain HTTP (browsers store `__Host-` cookies only from HTTPS, and over HTTPS the plain name
   * could have been set by a subdomain). An empty value counts as no cookie.
   */
  read(header: string | undefined, secure: boolean): SessionCookieRead {
    if (header === undefined || header === '') return NONE;
    const name = secure ? this.settings.secureName : this.settings.name;
    if (!header.includes(name)) return NONE;
    let found: string | undefined;
    for (const part of header.split(';')) {
      const eq = part.indexOf('=');
      if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
      const value = part.slice(eq + 1).trim();
      if (value === '') continue;
      if (!TOKEN_VALUE.test(value)) return MALFORMED;
      if (found !== undefined && found !== value) return CONFLICT;
      found = value;
    }
    return found === undefined ? NONE : { kind: 'token', token: found };
  }

  /**
   * The CSRF refusal of a state-changing request, or `undefined` when it passes. `token` is the
   * session cookie's token (`undefined` for a sign-in, which has no session yet); `ownOrigin` the
   * request's own `scheme://host`. In order: an `X-CSRF-Token` header decides alone (it must be
   * the session's); else `Sec-Fetch-Site: same-origin` or `none` pass, and `same-site` or
   * `cross-site` only from a trusted `Origin`; else an `Origin` must be the request's own or a
   * trusted one; else (no browser header at all) a sign-in passes and any other request needs
   * the token.
   */
  csrfRefusal(facts: CsrfFacts, token: string | undefined, ownOrigin: string | undefined): SessionError | undefined {
    const sent = facts.csrfToken?.trim();
    if (token !== undefined && sent !== undefined && sent !== '') {
      return sameText(sent, csrfTokenFor(token)) ? undefined : new SessionError('ERR_CSRF_FAILED', messages.csrfTokenIncorrect);
    }
    const origin = facts.origin?.trim().toLowerCase();
    if (facts.secFetchSite !== undefined) {
      const site = facts.secFetchSite.trim().toLowerCase();
      if (site === 'same-origin' || site === 'none') return undefined;
      if (origin !== undefined && this.#trusted.has(origin)) return undefined;
      if (origin === undefined && token !== undefined) return new SessionError('ERR_CSRF_FAILED', messages.csrfTokenMissing);
      return originRefusal(origin);
    }
    if (origin !== undefined) {
      if ((ownOrigin !== undefined && origin === ownOrigin) || this.#trusted.has(origin)) return undefined;
      return originRefusal(origin);
    }
    return token === undefined ? undefined : new SessionError('ERR_CSRF_FAILED', messages.csrfTokenMissing);
  }

  /** The two `Set-Cookie` values of a new or renewed session: the token, then the CSRF token. */
  issue(token: string, expireAt: Date | null, now: number, secure: boolean): readonly string[] {
    const left = expireAt === null ? MAX_COOKIE_AGE_SECONDS : Math.floor((expireAt.getTime() - now) / 1000);
    const maxAge = Math.min(MAX_COOKIE_AGE_SECONDS, Math.max(0, left));
    const s = this.settings;
    const tail = this.#attributes(secure);
    return [
      `${secure ? s.secureName : s.name}=${token}; Path=/; Max-Age=${maxAge}; HttpOnly${tail}`,
      `${secure ? s.csrfCookieSecureName : s.csrfCookieName}=${csrfTokenFor(token)}; Path=/; Max-Age=${maxAge}${tail}`,
    ];
  }

  /** The two `Set-Cookie` values that delete both cookies (`Max-Age=0`). */
  cleared(secure: boolean): readonly string[] {
    const s = this.settings;
    const tail = this.#attributes(secure);
    return [
      `${secure ? s.secureName : s.name}=; Path=/; Max-Age=0; HttpOnly${tail}`,
      `${secure ? s.csrfCookieSecureName : s.csrfCookieName}=; Path=/; Max-Age=0${tail}`,
    ];
  }

  #attributes(secure: boolean): string {
    const sameSite = this.settings.sameSite;
    // SameSite=None without Secure is dropped by browsers: plain HTTP gets Lax.
    const shown = sameSite === 'strict' ? 'Strict' : sameSite === 'none' && secure ? 'None' : 'Lax';
    return `; SameSite=${shown}${secure ? '; Secure' : ''}`;
  }
}

function originRefusal(origin: string | undefined): SessionError {
  const shown = origin === undefined ? 'null' : origin.length > SHOWN_ORIGIN ? `${origin.slice(0, SHOWN_ORIGIN)}…` : origin;
  return new SessionError('ERR_CSRF_FAILED', `CSRF Failed: Origin checking failed - ${shown} does not match any trusted origins.`);
}

/** Constant-time equality of two strings (the length of `expected` is no secret). */
function sameText(sent: string, expected: string): boolean {
  const a = Buffer.from(sent);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
