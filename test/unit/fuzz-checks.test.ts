// The fuzzers' checks themselves (test/fuzz/response-checks.ts): a check that never fires would
// make every fuzz run green. Each is shown a response that breaks its property, and one that
// only echoes the request.
import { describe, expect, test } from 'vitest';
import type { RawRequest, RawResponse } from '../fuzz/raw-http.js';
import { apiBodyProblems, CredentialIndex, isolationProblems, leakProblems, statusProblems } from '../fuzz/response-checks.js';

const request = (body = '', target = '/api/login'): RawRequest => ({
  method: 'POST',
  target,
  headers: [['Content-Type', Buffer.from('application/json')]],
  body: Buffer.from(body),
});

const response = (status: number, text: string, headers: Record<string, string> = { 'content-type': 'application/json' }): RawResponse => ({
  status,
  headers,
  body: Buffer.from(text),
  text,
});

describe('the fuzzers catch', () => {
  test.each([
    ['a stack trace', 'TypeError: x is undefined\n    at parse (/work/main/src/http/request-body.ts:12:5)'],
    ['a file path', '{"detail":"cannot open /work/main/dist/index.js"}'],
    ['an error name', '{"detail":"RangeError: Invalid time value"}'],
    ['SQL', '{"detail":"select id, user_id from user_session where key_hash = $1"}'],
    ['a PostgreSQL message', '{"detail":"invalid input syntax for type uuid: \\"x\\""}'],
    ['a SQLite code', '{"detail":"SQLITE_CONSTRAINT: NOT NULL"}'],
    ['a MySQL code', '{"detail":"ER_DATA_TOO_LONG"}'],
  ])('%s in a body', (_what, text) => {
    expect(leakProblems(request('{}'), response(400, text))).not.toEqual([]);
  });

  test('but not the request echoed back (a JSON parse error quoting the body, a 404 naming the path)', () => {
    const body = 'Error: at /work/x.ts:1:2 select a from b';
    expect(
      leakProblems(
        request(body),
        response(400, JSON.stringify({ detail: `JSON parse error - Unexpected token 'E', "${body}" is not valid JSON` })),
      ),
    ).toEqual([]);
    expect(leakProblems(request('', '/api/TypeError:%20x'), response(404, 'Cannot POST /api/TypeError:%20x', {}))).toEqual([]);
  });

  test("a 5xx, and a status outside the route's set", () => {
    expect(statusProblems(response(500, '{}'), new Set([200, 500]), 'POST login')).toHaveLength(1);
    expect(statusProblems(response(418, '{}'), new Set([200]), 'POST login')).toHaveLength(1);
    expect(statusProblems(response(200, '{}'), new Set([200]), 'POST login')).toEqual([]);
  });

  test('a JSON 4xx without detail, and the shapes DRF allows', () => {
    expect(
      apiBodyProblems(
        'POST',
        response(401, '{"error":"x"}', { 'content-type': 'application/json', 'www-authenticate': 'Token' }),
        [],
        false,
      ),
    ).toHaveLength(1);
    expect(apiBodyProblems('POST', response(400, '{"password":["This field is required."]}'), ['username', 'password'], false)).toEqual([]);
    expect(apiBodyProblems('POST', response(400, '{"other":["x"]}'), ['username', 'password'], false)).toHaveLength(1);
    expect(apiBodyProblems('POST', response(400, '{"non_field_errors":["Invalid data."]}'), [], false)).toEqual([]);
    expect(apiBodyProblems('POST', response(401, '{"detail":"x"}'), [], false)).toEqual(['a 401 without WWW-Authenticate']);
    expect(apiBodyProblems('POST', response(405, '{"detail":"x"}'), [], false)).toEqual(['a 405 without Allow']);
    expect(apiBodyProblems('POST', response(204, 'x'), [], false)).toHaveLength(1);
  });

  test("another user's session id or token in an answer, but not an id the request sent itself", () => {
    const index = new CredentialIndex();
    const aliceToken = 'a'.repeat(50);
    const bobId = '3f2c8a6e-1b7d-4c9e-8f00-aabbccddeeff';
    index.add({ userId: 1, kind: 'token', value: aliceToken });
    index.add({ userId: 2, kind: 'session_id', value: bobId });
    index.add({ userId: 2, kind: 'token', value: 'b'.repeat(50) });
    const asAlice: RawRequest = {
      method: 'GET',
      target: '/api/active',
      headers: [['Authorization', Buffer.from(`Token ${aliceToken}`)]],
      body: undefined,
    };
    expect(isolationProblems(asAlice, response(200, `[{"session_id":"${bobId}"}]`), index)).toHaveLength(1);
    // Django's hex form and upper case are the same id.
    expect(isolationProblems(asAlice, response(200, `"${bobId.replaceAll('-', '').toUpperCase()}"`), index)).toHaveLength(1);
    expect(isolationProblems(asAlice, response(200, `{"token":"${'b'.repeat(50)}"}`), index)).toHaveLength(1);
    const echo: RawRequest = { ...asAlice, target: `/api/active?token_id=${bobId}x` };
    expect(isolationProblems(echo, response(400, `{"detail":"Invalid token_id \\"${bobId}x\\": not a UUID."}`), index)).toEqual([]);
    // The request's own text echoed lowercased (a media type in a 415) is no leak either.
    const shouted: RawRequest = { ...asAlice, headers: [['Content-Type', Buffer.from('B'.repeat(50))]] };
    expect(
      isolationProblems(shouted, response(415, `{"detail":"Unsupported media type \\"${'b'.repeat(50)}\\" in request."}`), index),
    ).toEqual([]);
    // Bob's own request may see Bob's session.
    const asBob: RawRequest = { ...asAlice, headers: [['Authorization', Buffer.from(`Token ${'b'.repeat(50)}`)]] };
    expect(isolationProblems(asBob, response(200, `[{"session_id":"${bobId}"}]`), index)).toEqual([]);
  });
});
