import type { SessionApi } from '../http/session-api.js';

/**
 * Refuses anything but a {@link SessionApi} where an integration needs one: passing the
 * `SessionManager` (or nothing) is the likely slip, and it would otherwise fail on the first
 * request with `api.handle is not a function`. Checked by shape, not `instanceof`, so that an
 * API built by another copy of the package is accepted.
 */
export function assertSessionApi(where: string, api: unknown): asserts api is SessionApi<unknown> {
  const shaped = api as Partial<Record<'handle' | 'authenticate' | 'owns', unknown>> | null | undefined;
  if (typeof shaped?.handle === 'function' && typeof shaped.authenticate === 'function' && typeof shaped.owns === 'function') return;
  const given = api === undefined ? 'nothing' : api === null ? 'null' : describe(api);
  throw new TypeError(
    `nilva-session: ${where} needs a SessionApi (new SessionApi({ manager, verifyCredentials }) from 'nilva-session/http'); it was given ${given}`,
  );
}

function describe(value: unknown): string {
  if (typeof value !== 'object' && typeof value !== 'function') return `a ${typeof value}`;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name}` : 'an object';
}
