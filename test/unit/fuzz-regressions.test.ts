// Bugs the property-based fuzzers found (test/fuzz/), each pinned by the smallest input that
// showed it, so they stay fixed whatever the generators draw next.
import { readBody } from 'nilva-session/http';
import { describe, expect, test } from 'vitest';

describe('found by fuzzing', () => {
  test('readBody: a form field named like an Object.prototype member (toString, constructor, __proto__) is read', () => {
    const result = readBody('application/x-www-form-urlencoded', 'toString=&constructor=a&__proto__=b&hasOwnProperty=c&toString=later');
    expect(result.ok).toBe(true);
    const fields = result.ok ? result.fields : {};
    expect(Object.keys(fields)).toEqual(['toString', 'constructor', '__proto__', 'hasOwnProperty']);
    expect(fields.toString).toBe('');
    expect(fields.constructor).toBe('a');
    expect(Object.getOwnPropertyDescriptor(fields, '__proto__')?.value).toBe('b');
    // Still a plain object, as a JSON body gives.
    expect(Object.getPrototypeOf(fields)).toBe(Object.prototype);
  });
});
