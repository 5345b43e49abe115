import type { ServerResponse } from 'node:http';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import type { AuthOutcome } from '../core/session-manager.js';
import type { ApiRequest, ApiResponse } from '../http/api-types.js';
import { json } from '../http/error-responses.js';
import { assertMaxAge, MAX_BODY_BYTES, type SessionApi } from '../http/session-api.js';
import type { RegisteredUser } from '../index.js';
import type { NilvaContext } from './nilva-context.js';
import { nodeRequestFacts as facts } from './node-request.js';
import { readStream } from './read-stream.js';
import { assertSessionApi } from './session-api-check.js';

declare global {
  namespace Express {
    interface Request {
      /**
       * Set by nilva-session's `authenticate` and `requireAuth` when the request is
       * authenticated. Its `user` has the type declared in nilva-session's `Register`
       * (`unknown` without one); `nilva.context(req)` reads it typed from the `SessionApi`.
       */
      nilva?: NilvaContext<RegisteredUser>;
    }
  }
}

/** The pieces to mount in an Express 5 app. */
export interface NilvaExpress<TUser = RegisteredUser> {
  /** The HTTP contract; mount it at your prefix: `app.use('/api', nilva.routes)`. */
  readonly routes: RequestHandler;
  /** Authenticates when credentials are present (bad ones get 401); anonymous passes through. */
  readonly authenticate: RequestHandler;
  /** Like `authenticate`, but anonymous requests get 401. */
  readonly requireAuth: RequestHandler;
  /**
   * For sensitive routes: like `requireAuth`, and the session's last authentication must be at
   * most `maxAgeSeconds` old, else 403 `reauthentication_required` (the client calls
   * `POST P+reauthenticate` and retries).
   *
   * @example
   * app.post('/account/email', nilva.requireFreshAuth(300), changeEmail);
   */
  requireFreshAuth(maxAgeSeconds: number): RequestHandler;
  /**
   * `req.nilva` typed with this API's user, for applications that do not declare `Register`:
   * the context after `authenticate` or `requireAuth` ran, `undefined` for anonymous requests.
   */
  context(req: Request): NilvaContext<TUser> | undefined;
}

/**
 * Express 5 integration: thin shells around {@link SessionApi}. With `Register` declared, `api`
 * must serve that user type (so `req.nilva.user` tells the truth).
 *
 * @example
 * const nilva = nilvaExpress(api);
 * app.use('/api', nilva.routes);
 * app.get('/me', nilva.requireAuth, (req, res) => res.json(req.nilva?.user));
 */
export function nilvaExpress<TUser extends RegisteredUser>(api: SessionApi<TUser>): NilvaExpress<TUser> {
  assertSessionApi('nilvaExpress(api)', api);
  const auth = (required: boolean, maxAgeSeconds?: number): RequestHandler => {
    const finish = (req: Request, res: Response, next: NextFunction, outcome: AuthOutcome<TUser> | undefined): void => {
      if (outcome === undefined) {
        if (required) send(res, api.unauthenticated());
        else next();
      } else if (!outcome.ok) {
        send(res, api.error(outcome.error));
      } else {
        const stale = maxAgeSeconds === undefined ? undefined : api.requireFreshAuth(outcome, maxAgeSeconds);
        if (stale !== undefined) {
          send(res, stale);
          return;
        }
        req.nilva = outcome;
        next();
      }
    };
    return (req, res, next) => {
      const outcome = api.authenticate(facts(req));
      if (outcome instanceof Promise) outcome.then((o) => finish(req, res, next, o), next);
      else finish(req, res, next, outcome);
    };
  };

  const routes: RequestHandler = (req, res, next) => {
    if (!api.owns(req.path)) {
      next();
      return;
    }
    readBody(req).then(
      (body) => {
        if (body === null) {
          send(res, json(413, { detail: 'Request body too large.' }));
          return;
        }
        const apiRequest: ApiRequest = {
          ...facts(req),
          method: req.method,
          path: req.path,
          query: new URL(req.originalUrl, 'http://localhost').searchParams,
          contentType: req.headers['content-type'],
          body,
        };
        const response = api.handle(apiRequest);
        if (response === undefined) next();
        else if (response instanceof Promise) response.then((r) => send(res, r), next);
        else send(res, response);
      },
      () => send(res, json(400, { detail: 'Could not read the request body.' })),
    );
  };

  return {
    routes,
    authenticate: auth(false),
    requireAuth: auth(true),
    requireFreshAuth: (maxAgeSeconds) => {
      assertMaxAge(maxAgeSeconds);
      return auth(true, maxAgeSeconds);
    },
    // Only this API's middleware sets `req.nilva`, with a user of this API's type.
    context: (req) => req.nilva as NilvaContext<TUser> | undefined,
  };
}

function send(res: ServerResponse, response: ApiResponse): void {
  res.statusCode = response.status;
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  if (response.setCookies !== undefined) res.setHeader('set-cookie', [...response.setCookies]);
  res.end(response.body);
}

/** The raw body as text, `null` past the limit. Uses a body another middleware already parsed. */
function readBody(req: Request): Promise<string | undefined | null> {
  const parsed: unknown = req.body;
  if (parsed !== undefined && (req.readableEnded || req.complete)) {
    if (typeof parsed === 'string') return Promise.resolve(parsed);
    if (Buffer.isBuffer(parsed)) return Promise.resolve(parsed.toString('utf8'));
    return Promise.resolve(JSON.stringify(parsed));
  }
  return readStream(req, MAX_BODY_BYTES);
}
