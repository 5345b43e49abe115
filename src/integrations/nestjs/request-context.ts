import { IncomingMessage } from 'node:http';
import type { AuthSuccess } from '../../core/session-manager.js';

/**
 * What `NilvaAuthGuard` found for a request: the outcome of a successful authentication, or
 * `null` for an anonymous request it let through (`@Public()`). Keyed by the Node.js request,
 * which Express's `req` is and Fastify's `request.raw` holds, so both adapters share it, and
 * nothing is added to the framework's request object.
 */
const contexts = new WeakMap<IncomingMessage, AuthSuccess<unknown> | null>();

/** The Node.js request under a Nest HTTP request: Express's `req` itself, Fastify's `request.raw`. */
export function nodeRequest(request: unknown): IncomingMessage {
  if (request instanceof IncomingMessage) return request;
  const raw = (request as { raw?: unknown } | null | undefined)?.raw;
  if (raw instanceof IncomingMessage) return raw;
  throw new TypeError('nilva-session: not a request of @nestjs/platform-express or @nestjs/platform-fastify');
}

export function setRequestContext(request: IncomingMessage, outcome: AuthSuccess<unknown> | null): void {
  contexts.set(request, outcome);
}

/** `undefined` when the guard has not run on the request, `null` when it let an anonymous one through. */
export function requestContext(request: IncomingMessage): AuthSuccess<unknown> | null | undefined {
  return contexts.get(request);
}
