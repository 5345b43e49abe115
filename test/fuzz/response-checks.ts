// The properties every fuzzed response must have, as functions that return the problems found
// (an empty list is a pass): no 5xx, the status in the route's documented set, nothing internal
// in the body, the documented JSON error shapes, and isolation between users.
import { unescapeHtml } from '../helpers/page-apps.js';
import type { RawRequest, RawResponse } from './raw-http.js';

/**
 * What would betray the server's insides. Each pattern captures the whole suspicious text, so
 * that text the request itself carried (a body echoed in `JSON parse error - …`, a path in a
 * 404, a username shown again in the sign-in form) can be told apart from a leak.
 */
const LEAKS: ReadonlyArray<readonly [string, RegExp]> = [
  ['a stack frame', /\bat (?:async )?(?:[\w$.<>[\] ]{1,80} \()?(?:file:\/\/|node:|\/|[A-Za-z]:\\)[^\s)"<]{0,200}:\d+:\d+/g],
  ['a stack frame', /(?:^|\n|\\n)\s+at [\w$.<>]+[^\n"<]{0,80}/g],
  ['a file path', /(?:file:\/\/|node:internal|node_modules\/|\/(?:work|home|root|usr|tmp|opt|var|srv|app)\/)[\w./@+-]{0,200}/g],
  ['an error name', /\b[A-Z]?[A-Za-z]*Error: [^"<\n\\]{0,60}/g],
  [
    'SQL',
    /\b(?:select\s+[\w*"`,. ()]{1,80}\s+from\b|insert\s+into\b|update\s+[\w"`.]{1,80}\s+set\b|delete\s+from\b|returning\s+[\w"`,* ]+)[^"<\n\\]{0,60}/gi,
  ],
  [
    'a driver message',
    /(?:SQLITE_[A-Z_]+|\bER_[A-Z_]{3,}|syntax error at or near|invalid input syntax for|invalid byte sequence|violates [\w ]*constraint|duplicate key|relation "|column "|ECONNREFUSED|ETIMEDOUT|ECONNRESET|better-sqlite3|\bkysely\b|value too long for type|out of range for type|Incorrect string value|Data too long|unterminated quoted|\bSQLSTATE\b|\bcode\W{1,3}(?:22P02|22021|23505|42P01|42703)\b|invalid UTF-8|\\u0000 cannot be converted)[^"<\n\\]{0,60}/gi,
  ],
];

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** Every string value and key of a parsed JSON value. */
function jsonStrings(value: unknown, out: string[]): void {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const item of value) jsonStrings(item, out);
  else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      out.push(key);
      jsonStrings(item, out);
    }
  }
}

/** The request's text in every form a server might echo it: raw, decoded, parsed. */
export function requestTexts(req: RawRequest): string[] {
  const texts: string[] = [req.method, req.target, safeDecode(req.target)];
  const q = req.target.indexOf('?');
  if (q >= 0) for (const [k, v] of new URLSearchParams(req.target.slice(q + 1))) texts.push(k, v);
  for (const [, value] of req.headers) texts.push(value.toString('latin1'), value.toString('utf8'));
  if (req.body !== undefined) {
    const body = req.body.toString('utf8');
    texts.push(req.body.toString('latin1'), body);
    for (const [k, v] of new URLSearchParams(body)) texts.push(k, v);
    try {
      jsonStrings(JSON.parse(body), texts);
    } catch {
      // not JSON
    }
  }
  return texts;
}

/** The response's text as a client could read it: headers, the body, its JSON strings, unescaped HTML. */
function responseTexts(res: RawResponse): string[] {
  const texts = [
    Object.entries(res.headers)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n'),
    res.text,
    unescapeHtml(res.text),
  ];
  try {
    const strings: string[] = [];
    jsonStrings(JSON.parse(res.text), strings);
    texts.push(...strings);
  } catch {
    // not JSON
  }
  return texts;
}

/** Problems: internal detail in the response that the request did not carry. */
export function leakProblems(req: RawRequest, res: RawResponse): string[] {
  const echo = requestTexts(req);
  const problems: string[] = [];
  for (const text of responseTexts(res)) {
    for (const [what, pattern] of LEAKS) {
      for (const match of text.matchAll(pattern)) {
        const found = match[0].trim();
        if (found.length === 0 || echo.some((e) => e.includes(found))) continue;
        problems.push(`${what} in the response: ${JSON.stringify(found.slice(0, 120))}`);
      }
    }
  }
  return [...new Set(problems)];
}

/** Problems: a status outside the documented set, or any 5xx. */
export function statusProblems(res: RawResponse, allowed: ReadonlySet<number>, route: string): string[] {
  const problems: string[] = [];
  if (res.status >= 500) problems.push(`${res.status} from ${route}`);
  if (!allowed.has(res.status)) problems.push(`${res.status} is not a documented answer of ${route} (allowed: ${[...allowed].join(', ')})`);
  return problems;
}

function isStringList(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0 && value.every((m) => typeof m === 'string' && m.length > 0);
}

/**
 * Problems with the body of a library route's answer (contract, "Errors"): JSON everywhere
 * but the 204s; every 4xx has a string `detail`, except a 400 in DRF's per-field shape
 * (`{"field": ["…"]}`, fields of the route only) or `{"non_field_errors": ["…"]}`; a 401 names
 * the scheme in `WWW-Authenticate`, a 405 lists the methods in `Allow`, a 429 has
 * `Retry-After`.
 */
export function apiBodyProblems(method: string, res: RawResponse, fields: readonly string[], app: boolean): string[] {
  const problems: string[] = [];
  if (res.status === 204) {
    if (res.body.length > 0) problems.push(`a 204 with a body: ${JSON.stringify(res.text.slice(0, 80))}`);
    return problems;
  }
  if (res.status < 400) return problems;
  if (res.status === 401 && res.headers['www-authenticate'] === undefined) problems.push('a 401 without WWW-Authenticate');
  if (res.status === 405 && res.headers.allow === undefined) problems.push('a 405 without Allow');
  if (res.status === 429 && res.headers['retry-after'] === undefined) problems.push('a 429 without Retry-After');
  if (method === 'HEAD') return problems;
  if (!(res.headers['content-type'] ?? '').startsWith('application/json')) {
    problems.push(`a ${res.status} that is not JSON (${res.headers['content-type'] ?? 'no Content-Type'})`);
    return problems;
  }
  let body: unknown;
  try {
    body = JSON.parse(res.text);
  } catch {
    problems.push(`a ${res.status} whose body is not JSON: ${JSON.stringify(res.text.slice(0, 80))}`);
    return problems;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    problems.push(`a ${res.status} whose JSON is not an object`);
    return problems;
  }
  const record = body as Record<string, unknown>;
  if (typeof record.detail === 'string' && record.detail.length > 0) {
    const extra = Object.keys(record).filter((k) => k !== 'detail' && k !== 'code' && k !== 'messages');
    if (extra.length > 0) problems.push(`a ${res.status} with fields beside detail/code/messages: ${extra.join(', ')}`);
    return problems;
  }
  if (res.status === 400 && !app) {
    const keys = Object.keys(record);
    if (keys.length === 1 && keys[0] === 'non_field_errors' && isStringList(record.non_field_errors)) return problems;
    if (keys.length > 0 && keys.every((k) => fields.includes(k) && isStringList(record[k]))) return problems;
  }
  problems.push(`a ${res.status} without detail (and not a per-field 400): ${JSON.stringify(res.text.slice(0, 120))}`);
  return problems;
}

/** A secret or session id of a user, as the isolation check knows it. */
export interface KnownCredential {
  readonly userId: number;
  /** A session id in its canonical form (lowercase, hyphenated), a token or a JWT. */
  readonly value: string;
  readonly kind: 'session_id' | 'token' | 'access' | 'refresh';
}

/** Every credential the fuzz world ever handed out, looked up by value. */
export class CredentialIndex {
  readonly #byValue = new Map<string, KnownCredential>();

  add(credential: KnownCredential): void {
    this.#byValue.set(credential.kind === 'session_id' ? credential.value.toLowerCase() : credential.value, credential);
  }

  get size(): number {
    return this.#byValue.size;
  }

  /** The known credentials that occur in `texts`, in any form a session id is written in. */
  findIn(texts: readonly string[]): KnownCredential[] {
    const found = new Map<string, KnownCredential>();
    for (const text of texts) {
      for (const match of text.matchAll(UUID_LIKE)) {
        const hex = match[0].replaceAll('-', '').toLowerCase();
        const id = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
        const known = this.#byValue.get(id);
        if (known !== undefined) found.set(id, known);
      }
      for (const match of text.matchAll(SECRET_LIKE)) {
        const known = this.#byValue.get(match[0]);
        if (known !== undefined) found.set(match[0], known);
      }
    }
    return [...found.values()];
  }
}

/** A UUID, hyphenated or as 32 hex digits (Django's form), any case. */
const UUID_LIKE = /[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}/gi;
/** An opaque token (a run of [a-z0-9]) or a JWT (three base64url parts). */
const SECRET_LIKE = /[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*|[a-z0-9]{20,}/g;

/**
 * The users whose secrets (token, access or refresh JWT) the request carries, anywhere: the
 * header, a cookie, the body. A response may show what these users may see, nothing more.
 */
export function carriedUsers(req: RawRequest, index: CredentialIndex): Set<number> {
  const users = new Set<number>();
  for (const credential of index.findIn(requestTexts(req))) if (credential.kind !== 'session_id') users.add(credential.userId);
  return users;
}

/**
 * Problems: the response shows a session id or secret of a user whose credentials the request
 * did not carry, and that the request did not itself contain (a token_id echoed in a 400 is not
 * a leak). `exempt(carried)` says when showing others' sessions is the page's job (the admin
 * pages, to staff).
 */
export function isolationProblems(
  req: RawRequest,
  res: RawResponse,
  index: CredentialIndex,
  exempt: (carried: ReadonlySet<number>) => boolean = () => false,
): string[] {
  const carried = carriedUsers(req, index);
  if (exempt(carried)) return [];
  // What the request itself contained, in any case: a server may echo it lowercased (a media
  // type in a 415), which tells the client nothing it did not send.
  const texts = requestTexts(req);
  const asked = new Set(index.findIn([...texts, ...texts.map((t) => t.toLowerCase())]).map((c) => c.value));
  const problems: string[] = [];
  for (const credential of index.findIn(responseTexts(res))) {
    if (carried.has(credential.userId) || asked.has(credential.value)) continue;
    problems.push(
      `the ${credential.kind} ${credential.value.slice(0, 40)} of user ${credential.userId} is in the answer to a request of [${[...carried].join(', ')}]`,
    );
  }
  return problems;
}
