// Properties of the parsers, checked without HTTP: the Authorization header, the body reader
// and DRF's field rules, and the token_id/scope query of DELETE active through SessionApi.handle.
// Each states what docs/contract.md says, as an oracle written from the contract's tables.
import fc from 'fast-check';
import type { SessionManager, SessionStore } from 'nilva-session';
import { type ApiRequest, type CharFieldRule, charFields, readBody, type SessionApi } from 'nilva-session/http';
import { parseAuthorization } from '../../src/core/authorization-header.js';
import { headerText, idItem, nastyText, utf8AsHeader } from './arbitraries.js';

// ---------------------------------------------------------------------------------------------
// Authorization

/** The contract's rule ("Authentication headers"), as simply as it can be said. */
export function expectedAuthorization(header: string | undefined): { scheme: string; credentials?: string; code?: string } {
  if (header === undefined || header === '') return { scheme: 'none' };
  const words = header.split(/[ \t\n\v\f\r]+/).filter((w) => w.length > 0);
  const [scheme, credentials] = words;
  if (scheme === undefined) return { scheme: 'none' };
  if (scheme.toLowerCase() === 'token') {
    if (words.length === 1) return { scheme: 'invalid', code: 'ERR_HEADER_NO_CREDENTIALS' };
    if (words.length > 2) return { scheme: 'invalid', code: 'ERR_HEADER_SPACES' };
    const word = credentials as string;
    // Node hands header bytes over as latin1; the token is their UTF-8 reading, if any.
    if ([...word].some((c) => c.charCodeAt(0) > 0xff) || !/[\x80-\xff]/.test(word)) return { scheme: 'token', credentials: word };
    try {
      return { scheme: 'token', credentials: new TextDecoder('utf-8', { fatal: true }).decode(Buffer.from(word, 'latin1')) };
    } catch {
      return { scheme: 'invalid', code: 'ERR_HEADER_INVALID_CHARACTERS' };
    }
  }
  if (scheme === 'Bearer') {
    if (words.length !== 2) return { scheme: 'invalid', code: 'ERR_BAD_AUTHORIZATION_HEADER' };
    return { scheme: 'bearer', credentials: credentials as string };
  }
  return { scheme: 'none' };
}

const whitespace = fc.constantFrom(' ', '  ', '\t', '\n', '\v', '\f', '\r', ' \t\r\n ');

/** Headers shaped like `<scheme><ws><words…>`, and any text at all. */
export const authorizationHeader: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 1, arbitrary: fc.constant(undefined) },
  {
    weight: 6,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.constantFrom('Token', 'token', 'TOKEN', 'tOkEn', 'Bearer', 'bearer', 'BEARER', 'Basic', 'Tokens', 'Bear'),
          fc.string({ maxLength: 6 }),
        ),
        fc.array(fc.tuple(whitespace, fc.oneof(headerText(20), fc.stringMatching(/^[a-z0-9]{50}$/))), { maxLength: 4 }),
        fc.constantFrom('', ' ', '\t', '\r\n'),
        fc.constantFrom('', ' ', '\t'),
      )
      .map(([scheme, words, trailer, leader]) => `${leader}${scheme}${words.map(([ws, w]) => ws + w).join('')}${trailer}`),
  },
  { weight: 2, arbitrary: headerText(40) },
  { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 20 }).map((s) => `Token ${utf8AsHeader(s)}`) },
);

/** parseAuthorization matches the contract's rule on every header, and never throws. */
export const authorizationProperty = fc.property(authorizationHeader, (header) => {
  const parsed = parseAuthorization(header, 'Token', 'Bearer');
  const expected = expectedAuthorization(header);
  const actual =
    parsed.scheme === 'invalid'
      ? { scheme: 'invalid', code: parsed.error.code }
      : parsed.scheme === 'none'
        ? { scheme: 'none' }
        : { scheme: parsed.scheme, credentials: parsed.credentials };
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(
      `parseAuthorization(${JSON.stringify(header)}) = ${JSON.stringify(actual)}, the contract says ${JSON.stringify(expected)}`,
    );
  }
});

// ---------------------------------------------------------------------------------------------
// Bodies

const CONTENT_TYPES = fc.oneof(
  fc.constantFrom(
    undefined,
    '',
    'application/json',
    'Application/JSON; charset=utf-8',
    'application/problem+json',
    'application/x-www-form-urlencoded',
    'text/plain',
    'text/xml',
    'multipart/form-data',
  ),
  headerText(30),
);

function jsonKind(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'list';
  if (typeof value === 'string') return 'str';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  return 'bool';
}

/** A 400/415 in the contract's shapes: `{detail}` or `{non_field_errors: [...]}`, as JSON. */
function isDocumentedError(response: { status: number; headers: Readonly<Record<string, string>>; body: string | undefined }): boolean {
  if (response.status !== 400 && response.status !== 415) return false;
  if (response.headers['content-type'] !== 'application/json') return false;
  const body = JSON.parse(response.body ?? 'null') as Record<string, unknown> | null;
  if (body === null || typeof body !== 'object') return false;
  if (typeof body.detail === 'string') return Object.keys(body).length === 1;
  return response.status === 400 && Array.isArray(body.non_field_errors) && Object.keys(body).length === 1;
}

/** readBody never throws; it gives an object, or a documented 400/415. */
export const readBodyTotalProperty = fc.property(
  CONTENT_TYPES,
  fc.option(fc.oneof(nastyText(60), fc.string({ unit: 'binary', maxLength: 60 }), fc.json()), { nil: undefined }),
  (contentType, body) => {
    const result = readBody(contentType, body);
    if (result.ok) {
      if (typeof result.fields !== 'object' || result.fields === null || Array.isArray(result.fields))
        throw new Error('fields not an object');
    } else if (!isDocumentedError(result.response)) {
      throw new Error(`undocumented answer ${result.response.status} ${result.response.body}`);
    }
  },
);

/** Any JSON: an object comes back as it was sent; anything else is DRF's non_field_errors, naming its kind. */
export const readBodyJsonProperty = fc.property(
  fc.jsonValue(),
  fc.constantFrom('application/json', undefined, 'application/merge-patch+json', 'APPLICATION/JSON;charset=UTF-8'),
  (value, contentType) => {
    const text = JSON.stringify(value);
    const result = readBody(contentType, text);
    const isObject = typeof value === 'object' && value !== null && !Array.isArray(value);
    if (isObject) {
      if (!result.ok || JSON.stringify(result.fields) !== text) throw new Error(`${text} read as ${JSON.stringify(result)}`);
    } else {
      const expected = JSON.stringify({
        non_field_errors: [`Invalid data. Expected a dictionary, but got ${jsonKind(JSON.parse(text))}.`],
      });
      if (result.ok || result.response.status !== 400 || result.response.body !== expected)
        throw new Error(`${text} read as ${JSON.stringify(result)}`);
    }
  },
);

const formKey = fc.oneof(
  fc.constantFrom('username', 'password', 'refresh', 'constructor', '__proto__', 'toString', 'hasOwnProperty', ''),
  fc.string({ maxLength: 8 }),
);

/** An HTML form: each field is the first value sent for its name, whatever the name. */
export const readBodyFormProperty = fc.property(
  fc.array(fc.tuple(formKey, fc.oneof(fc.string({ maxLength: 12 }), nastyText(12))), { minLength: 1, maxLength: 6 }),
  (pairs) => {
    const form = new URLSearchParams();
    for (const [k, v] of pairs) form.append(k, v);
    const text = form.toString();
    const result = readBody('application/x-www-form-urlencoded', text);
    if (!result.ok) throw new Error(`form ${text} refused`);
    // The form as URLSearchParams reads it back (lone surrogates become U+FFFD on the way).
    const expected = new Map<string, string>();
    for (const [k, v] of new URLSearchParams(text)) if (!expected.has(k)) expected.set(k, v);
    const keys = Object.keys(result.fields);
    if (keys.length !== expected.size)
      throw new Error(`form ${text}: fields ${JSON.stringify(keys)}, expected ${JSON.stringify([...expected.keys()])}`);
    for (const [k, v] of expected) {
      if (!Object.hasOwn(result.fields, k) || result.fields[k] !== v)
        throw new Error(`form ${text}: field ${JSON.stringify(k)} is ${JSON.stringify(result.fields[k])}, expected ${JSON.stringify(v)}`);
    }
  },
);

const RULES: readonly CharFieldRule[] = [
  { name: 'username', maxLength: 1024, trim: true },
  { name: 'password', maxLength: 4096, trim: false },
  { name: 'refresh', maxLength: 8192, trim: true },
];

/** The contract's field table ("400, 413, 415: the request itself"), one field at a time. */
export function expectedFieldError(raw: unknown, rule: CharFieldRule): string | { value: string } {
  if (raw === undefined) return 'This field is required.';
  if (raw === null) return 'This field may not be null.';
  if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isFinite(raw))) return 'Not a valid string.';
  let value = String(raw);
  if (rule.trim) value = value.trim();
  if (value.includes('\u0000')) return 'Null characters are not allowed.';
  if (/\p{Cs}/u.test(value)) return 'Not a valid string.';
  if (value.length === 0) return 'This field may not be blank.';
  if (value.length > rule.maxLength) return `Ensure this field has no more than ${rule.maxLength} characters.`;
  return { value };
}

const fieldValue = fc.oneof(
  { weight: 4, arbitrary: nastyText(30) },
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    '',
    ' ',
    '\t\n',
    '\u00a0',
    '\ufeff',
    'a'.repeat(1024),
    ` ${'a'.repeat(1024)} `,
    'a'.repeat(1025),
    'b'.repeat(4097),
    'c'.repeat(8193),
  ),
  fc.double(),
  fc.integer(),
  fc.constantFrom(null, true, false, [], {}, ['a'], { a: 1 }, Number.NaN, Number.POSITIVE_INFINITY, -0, 1e21),
);

/** charFields gives exactly the contract's error for each bad field, and the value of each good one. */
export const charFieldsProperty = fc.property(
  fc.record({ username: fieldValue, password: fieldValue, refresh: fieldValue }, { requiredKeys: [] }),
  fc.subarray([...RULES], { minLength: 1 }),
  (fields, rules) => {
    const result = charFields(fields, rules);
    const errors: Record<string, string[]> = {};
    const values: Record<string, string> = {};
    for (const rule of rules) {
      const expected = expectedFieldError(
        Object.hasOwn(fields, rule.name) ? (fields as Record<string, unknown>)[rule.name] : undefined,
        rule,
      );
      if (typeof expected === 'string') errors[rule.name] = [expected];
      else values[rule.name] = expected.value;
    }
    const wanted = Object.keys(errors).length > 0 ? { ok: false, status: 400, body: errors } : { ok: true, values };
    const got = result.ok
      ? { ok: true, values: result.values }
      : { ok: false, status: result.response.status, body: JSON.parse(result.response.body ?? '') };
    if (JSON.stringify(got) !== JSON.stringify(wanted))
      throw new Error(`charFields(${JSON.stringify(fields)}) = ${JSON.stringify(got)}, expected ${JSON.stringify(wanted)}`);
  },
);

// ---------------------------------------------------------------------------------------------
// DELETE active: token_id and scope

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** The 400's detail the contract gives for a query, or `undefined` when it is accepted. */
export function expectedQueryError(query: URLSearchParams, maxTokenIds: number): string | undefined {
  const ids = query.getAll('token_id');
  const scope = query.get('scope');
  if (scope !== null && scope !== 'others' && scope !== 'all')
    return `Invalid scope ${JSON.stringify(scope.slice(0, 40))}: use "others" or "all".`;
  if (scope !== null && ids.length > 0) return 'Give either token_id or scope, not both.';
  if (ids.length > maxTokenIds) return `Too many token_id values: at most ${maxTokenIds}.`;
  for (const value of ids) {
    if (UUID.test(value.trim().toLowerCase())) continue;
    if (value.length === 0) return 'Invalid token_id: it is empty.';
    return `Invalid token_id ${JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value)}: not a UUID.`;
  }
  return undefined;
}

/** A query for DELETE active: token_id values (the caller's, another user's, garbage) and scope. */
export const activeQuery = fc.record({
  ids: fc.array(idItem, { maxLength: 8 }),
  scope: fc.option(
    fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('others', 'all') },
      fc.constantFrom('', 'mine', 'ALL', 'others ', ' all'),
      nastyText(10),
    ),
    { nil: undefined, freq: 3 },
  ),
  scopeFirst: fc.boolean(),
  tail: fc.constantFrom('', '', '&scope=all', '&token_id=', '&x=1', '&scope=others&scope=mine'),
});

export interface QueryHarness {
  readonly api: SessionApi<unknown>;
  readonly manager: SessionManager<unknown>;
  /** The manager's store, read to see which sessions ended. */
  readonly store: Pick<SessionStore, 'findById'>;
  readonly maxTokenIds: number;
}

/**
 * The answer matches the contract, and the right sessions end: the caller's listed ones (or
 * all, or all others), never another user's.
 */
export const activeQueryProperty = (harness: QueryHarness) =>
  fc.asyncProperty(activeQuery, async (spec) => {
    const { api, manager } = harness;
    const facts = { ip: '127.0.0.1', userAgent: 'fuzz' };
    const mine = [
      await manager.createSession({ userId: 1, ...facts }),
      await manager.createSession({ userId: 1, ...facts }),
      await manager.createSession({ userId: 1, ...facts }),
    ];
    const theirs = [await manager.createSession({ userId: 2, ...facts }), await manager.createSession({ userId: 2, ...facts })];
    const sessions = [mine, theirs];
    const params = new URLSearchParams();
    const addScope = () => spec.scope !== undefined && params.append('scope', spec.scope);
    if (spec.scopeFirst) addScope();
    for (const item of spec.ids) {
      if (item.t === 'session') {
        const group = sessions[item.ref.user % 2] as typeof mine;
        const id = (group[item.ref.slot % group.length] as (typeof mine)[number]).session.id;
        params.append('token_id', `${item.pad}${item.upper ? id.toUpperCase() : id}${item.pad}`);
      } else params.append('token_id', item.t === 'uuid' ? item.uuid : item.text);
    }
    if (!spec.scopeFirst) addScope();
    const query = new URLSearchParams(params.toString() + spec.tail);
    const current = mine[0] as (typeof mine)[number];
    const request: ApiRequest = {
      method: 'DELETE',
      path: 'active',
      query,
      authorization: `Token ${current.token}`,
      userAgent: 'fuzz',
      remoteAddress: '127.0.0.1',
      forwardedFor: undefined,
      contentType: undefined,
      body: undefined,
    };
    const response = await api.handle(request);
    const expectedError = expectedQueryError(query, harness.maxTokenIds);
    if (expectedError !== undefined) {
      if (response?.status !== 400 || response.body !== JSON.stringify({ detail: expectedError })) {
        throw new Error(`?${query} answered ${response?.status} ${response?.body}, the contract says 400 ${expectedError}`);
      }
    } else if (response?.status !== 204 || response.body !== undefined) {
      throw new Error(`?${query} answered ${response?.status} ${response?.body}, the contract says 204`);
    }
    const listed = new Set(query.getAll('token_id').map((v) => v.trim().toLowerCase()));
    const scope = query.get('scope');
    for (const created of mine) {
      const id = created.session.id;
      const ended =
        expectedError === undefined &&
        (scope === 'others' ? id !== current.session.id : scope === 'all' || listed.size === 0 ? true : listed.has(id));
      const row = await harness.store.findById(id);
      if (row?.isActive !== !ended)
        throw new Error(
          `?${query}: the caller's session ${id} is ${row?.isActive ? 'active' : 'ended'}, expected ${ended ? 'ended' : 'active'}`,
        );
    }
    for (const created of theirs) {
      const row = await harness.store.findById(created.session.id);
      if (row?.isActive !== true) throw new Error(`?${query}: another user's session ${created.session.id} was ended`);
    }
  });
