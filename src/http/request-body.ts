import { unstorableReason } from '../lib/storable-text.js';
import type { ApiResponse } from './api-types.js';
import { json } from './error-responses.js';

/** The outcome of reading a body: the fields, or the 400/415 to answer. */
export type BodyResult =
  | { readonly ok: true; readonly fields: Readonly<Record<string, unknown>> }
  | { readonly ok: false; readonly response: ApiResponse };

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

/**
 * Parses a JSON (or HTML-form) body into an object, with DRF's messages: a body that is not
 * JSON gives 400 `JSON parse error - …`, JSON that is not an object gives 400
 * `non_field_errors`, another media type gives 415.
 */
export function readBody(contentType: string | undefined, body: string | undefined): BodyResult {
  const type = mediaType(contentType);
  if (body === undefined || body.length === 0) return { ok: true, fields: {} };
  if (type === 'application/x-www-form-urlencoded') {
    const fields: Record<string, string> = {};
    // The first value of each name wins. Own keys only: `toString` or `constructor` is a field
    // like any other (`in` sees Object.prototype's), and `__proto__` is defined, not assigned
    // (which would set the prototype), as JSON.parse makes it an own key.
    for (const [k, v] of new URLSearchParams(body)) {
      if (!Object.hasOwn(fields, k)) Object.defineProperty(fields, k, { value: v, enumerable: true, writable: true, configurable: true });
    }
    return { ok: true, fields };
  }
  if (type !== '' && type !== 'application/json' && !type.endsWith('+json')) {
    return { ok: false, response: json(415, { detail: `Unsupported media type "${type.slice(0, 100)}" in request.` }) };
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (error) {
    const reason = error instanceof Error ? error.message : 'invalid JSON';
    return { ok: false, response: json(400, { detail: `JSON parse error - ${reason.slice(0, 200)}` }) };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind =
      value === null
        ? 'null'
        : Array.isArray(value)
          ? 'list'
          : typeof value === 'string'
            ? 'str'
            : typeof value === 'number'
              ? Number.isInteger(value)
                ? 'int'
                : 'float'
              : 'bool';
    return { ok: false, response: json(400, { non_field_errors: [`Invalid data. Expected a dictionary, but got ${kind}.`] }) };
  }
  return { ok: true, fields: value as Record<string, unknown> };
}

/** A DRF `CharField` rule. */
export interface CharFieldRule {
  readonly name: string;
  readonly maxLength: number;
  /** DRF trims whitespace unless told not to (simplejwt's password field is not trimmed). */
  readonly trim: boolean;
}

/**
 * Validates string fields with DRF `CharField` semantics and messages. Numbers are accepted and
 * turned into strings, as DRF does. Returns the values, or the 400 in DRF's per-field shape.
 */
export function charFields(
  fields: Readonly<Record<string, unknown>>,
  rules: readonly CharFieldRule[],
): { readonly ok: true; readonly values: Record<string, string> } | { readonly ok: false; readonly response: ApiResponse } {
  const errors: Record<string, string[]> = {};
  const values: Record<string, string> = {};
  for (const rule of rules) {
    const raw = Object.hasOwn(fields, rule.name) ? fields[rule.name] : undefined;
    if (raw === undefined) {
      errors[rule.name] = ['This field is required.'];
      continue;
    }
    if (raw === null) {
      errors[rule.name] = ['This field may not be null.'];
      continue;
    }
    if (typeof raw !== 'string' && !(typeof raw === 'number' && Number.isFinite(raw))) {
      errors[rule.name] = ['Not a valid string.'];
      continue;
    }
    let value = String(raw);
    if (rule.trim) value = value.trim();
    // DRF's CharField refuses NUL (PostgreSQL cannot store it in text, and a driver error here
    // would read as an outage); a lone surrogate has no UTF-8 form at all.
    const unstorable = unstorableReason(value);
    if (unstorable === 'nul') errors[rule.name] = ['Null characters are not allowed.'];
    else if (unstorable === 'lone_surrogate') errors[rule.name] = ['Not a valid string.'];
    else if (value.length === 0) errors[rule.name] = ['This field may not be blank.'];
    else if (value.length > rule.maxLength) errors[rule.name] = [`Ensure this field has no more than ${rule.maxLength} characters.`];
    else values[rule.name] = value;
  }
  if (Object.keys(errors).length > 0) return { ok: false, response: json(400, errors) };
  return { ok: true, values };
}
