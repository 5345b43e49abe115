import { unstorableReason } from '../lib/storable-text.js';

/**
 * How the pages name a field in an error: the label the form shows, or, for hidden fields and
 * anything else, its name as sent.
 */
const LABELS: Readonly<Record<string, string>> = {
  username: 'Username',
  password: 'Password',
  user: 'User id',
  ip: 'IP address',
  status: 'Status',
  is_active: 'Status',
  sort: 'Sort by',
  order: 'Order',
  detail: 'Detail',
  action: 'Action',
};

/**
 * The longest value each field may have: the column it is compared with or stored in (`user_id`
 * is `varchar(191)` on MySQL, `last_ip` `varchar(45)`, an id a UUID), and the length past which
 * a return address is not one of the pages'. The credentials are the API's to check.
 */
const MAX_LENGTHS: Readonly<Record<string, number>> = {
  user: 191,
  ip: 45,
  session_id: 36,
  id: 36,
  next: 2000,
  return_to: 2000,
};

/** The field's name in a message: its label, else `Parameter "name"`. */
export function fieldLabel(name: string): string {
  const label = LABELS[name];
  if (label !== undefined) return label;
  const shown = name.length > 40 ? `${name.slice(0, 40)}…` : name;
  return `Parameter ${JSON.stringify(shown)}`;
}

/**
 * What is wrong with one value, as a sentence naming the field (`Username: null characters are
 * not allowed.`), or `undefined`. The wording is DRF's, as the API's own field errors read.
 */
export function fieldProblem(name: string, value: string, maxLength: number | undefined = MAX_LENGTHS[name]): string | undefined {
  const reason = unstorableReason(value);
  if (reason === 'nul') return `${fieldLabel(name)}: null characters are not allowed.`;
  if (reason === 'lone_surrogate') return `${fieldLabel(name)}: not a valid string.`;
  if (maxLength !== undefined && value.length > maxLength) {
    return `${fieldLabel(name)}: ensure this field has no more than ${maxLength} characters.`;
  }
  return undefined;
}

/**
 * The first problem among `params` (a query string or a form), checked before anything reads
 * them: no value a database cannot store, or longer than its column, goes further. `skip` names
 * fields that another layer validates with its own messages.
 */
export function paramsProblem(params: URLSearchParams | undefined, skip: readonly string[] = []): string | undefined {
  if (params === undefined) return undefined;
  for (const [name, value] of params) {
    if (skip.includes(name)) continue;
    const problem = fieldProblem(name, value);
    if (problem !== undefined) return problem;
  }
  return undefined;
}

/**
 * The message of an API 400, each field named: `{"username": ["Null characters are not
 * allowed."]}` reads `Username: null characters are not allowed.`; a `{"detail": …}` is its
 * detail. `undefined` when the body is of neither shape.
 */
export function apiErrorMessage(body: string | undefined): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body ?? '');
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return undefined;
  const sentences: string[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (name === 'detail' && typeof value === 'string') sentences.push(value);
    if (!Array.isArray(value)) continue;
    for (const message of value) {
      if (typeof message === 'string' && message.length > 0) {
        sentences.push(`${fieldLabel(name)}: ${message.charAt(0).toLowerCase()}${message.slice(1)}`);
      }
    }
  }
  return sentences.length === 0 ? undefined : sentences.join(' ');
}
