import { ServerResponse } from 'node:http';
import {
  applyDecorators,
  type CanActivate,
  createParamDecorator,
  type ExecutionContext,
  HttpException,
  Inject,
  Injectable,
  SetMetadata,
  UseGuards,
} from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { SessionError } from '../../core/errors.js';
import type { AuthOutcome, AuthSuccess } from '../../core/session-manager.js';
import type { ApiResponse } from '../../http/api-types.js';
import { assertMaxAge, SessionApi } from '../../http/session-api.js';
import type { RegisteredUser } from '../../index.js';
import type { NilvaContext } from '../nilva-context.js';
import { nodeRequestFacts } from '../node-request.js';
import { assertSessionApi } from '../session-api-check.js';
import { nodeRequest, requestContext, setRequestContext } from './request-context.js';

const PUBLIC_KEY = 'nilva-session:public';
const FRESH_AUTH_KEY = 'nilva-session:fresh-auth';

/**
 * The user type of `@CurrentUser()`: the one the application declared in nilva-session's
 * `Register` (`unknown` without one). Parameter decorators carry no type, so annotate the
 * parameter with it: `@CurrentUser() user: NilvaUser`.
 */
export type NilvaUser = RegisteredUser;

/**
 * A refused authentication, thrown by {@link NilvaAuthGuard}: the status and JSON body of the
 * `SessionApi`'s answer (`{"detail": …}`, with a `code` where the contract has one), as the
 * Express, Fastify and Hono integrations send it. Nest's exception layer answers it like any
 * `HttpException` (as JSON, `application/json; charset=utf-8` on both adapters), so an
 * exception filter of the application may reshape it. The guard has already set the answer's
 * other headers (`WWW-Authenticate`, `Retry-After`) on the response; they are in
 * {@link NilvaAuthException.headers} too.
 */
export class NilvaAuthException extends HttpException {
  /** The headers of the `SessionApi`'s answer. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(response: ApiResponse) {
    super(JSON.parse(response.body ?? '{}') as Record<string, unknown>, response.status);
    this.headers = response.headers;
  }
}

/**
 * Authenticates Nest HTTP routes with the `SessionApi` of {@link NilvaSessionModule}: a route
 * it guards needs valid credentials (401 otherwise, with `WWW-Authenticate`), unless marked
 * `@Public()`. Bind it to every route with `{ provide: APP_GUARD, useClass: NilvaAuthGuard }`
 * or to some with `@UseGuards(NilvaAuthGuard)`; `@CurrentUser()`, `@CurrentSession()` and
 * `@RequireFreshAuth()` bind it to their route themselves. It runs once per request however
 * often it is bound. Refusals are {@link NilvaAuthException}s.
 *
 * It guards HTTP only: in a WebSocket or microservice context it refuses (returns `false`).
 *
 * @example
 * providers: [{ provide: APP_GUARD, useClass: NilvaAuthGuard }]
 */
export class NilvaAuthGuard implements CanActivate {
  readonly #api: SessionApi<unknown>;
  readonly #reflector: Reflector;

  constructor(api: SessionApi<unknown>, reflector: Reflector) {
    assertSessionApi('NilvaAuthGuard', api);
    this.#api = api;
    this.#reflector = reflector;
  }

  canActivate(context: ExecutionContext): boolean | Promise<boolean> {
    if (context.getType() !== 'http') return false;
    const http = context.switchToHttp();
    const request = nodeRequest(http.getRequest());
    // Bound twice (APP_GUARD and the route's own), it decides once: the same metadata gives
    // the same decision, and a second lookup would only repeat the work.
    if (requestContext(request) !== undefined) return true;
    const targets = [context.getHandler(), context.getClass()];
    const maxAgeSeconds = this.#reflector.getAllAndOverride<number | undefined>(FRESH_AUTH_KEY, targets);
    const optional = maxAgeSeconds === undefined && this.#reflector.getAllAndOverride<boolean | undefined>(PUBLIC_KEY, targets) === true;
    const refuse = (answer: ApiResponse): never => {
      setHeaders(http.getResponse(), answer);
      throw new NilvaAuthException(answer);
    };
    const decide = (outcome: AuthOutcome<unknown> | undefined): boolean => {
      if (outcome === undefined) {
        if (!optional) refuse(this.#api.unauthenticated());
        setRequestContext(request, null);
        return true;
      }
      if (!outcome.ok) return refuse(this.#api.error(outcome.error));
      if (maxAgeSeconds !== undefined) {
        const stale = this.#api.requireFreshAuth(outcome, maxAgeSeconds);
        if (stale !== undefined) refuse(stale);
      }
      setRequestContext(request, outcome);
      return true;
    };
    const failed = (error: unknown): never => {
      if (error instanceof SessionError) refuse(this.#api.error(error));
      throw error;
    };
    let outcome: ReturnType<SessionApi<unknown>['authenticate']>;
    try {
      outcome = this.#api.authenticate(nodeRequestFacts(request));
    } catch (error) {
      return failed(error);
    }
    return outcome instanceof Promise ? outcome.then(decide, failed) : decide(outcome);
  }
}

// Nest's decorators applied as functions: the library's source then needs no decorator
// support from whatever compiles it (tsx, a bundler, a test runner).
Injectable()(NilvaAuthGuard);
Inject(SessionApi)(NilvaAuthGuard, undefined, 0);
Inject(Reflector)(NilvaAuthGuard, undefined, 1);

/**
 * Sets the headers of `answer` (and its `Set-Cookie`s: cookie mode deletes its cookies with a
 * refusal) on the response: Express's `res` is a Node.js response; Fastify's `reply` has
 * `header()`. The content type is left to whoever sends the body: Nest's exception layer, or an
 * application's filter.
 */
function setHeaders(response: unknown, answer: ApiResponse): void {
  const headers: Array<[string, string | string[]]> = Object.entries(answer.headers).filter(([name]) => name !== 'content-type');
  if (answer.setCookies !== undefined) headers.push(['set-cookie', [...answer.setCookies]]);
  for (const [name, value] of headers) {
    if (response instanceof ServerResponse) response.setHeader(name, value);
    else (response as { header(name: string, value: string | string[]): unknown }).header(name, value);
  }
}

/**
 * Lets anonymous requests through {@link NilvaAuthGuard} (on a handler, or on a controller for
 * all its handlers). Credentials that are present are still checked: valid ones give
 * `@CurrentUser()` its user, bad ones (a revoked or expired token, a malformed header) get the
 * same 401 as anywhere else, so a client learns at once that its token is no longer good.
 * `@RequireFreshAuth()` on the same route wins over it.
 */
export function Public(): ClassDecorator & MethodDecorator {
  return SetMetadata(PUBLIC_KEY, true);
}

/**
 * For sensitive routes: the session's last authentication must be at most `maxAgeSeconds`
 * old, else 403 `{"detail": …, "code": "reauthentication_required"}` (the client calls
 * `POST <routesPath>/reauthenticate` and retries). Implies authentication, and binds
 * {@link NilvaAuthGuard} to the route (or controller) itself, so it cannot be left unguarded.
 *
 * @throws TypeError when `maxAgeSeconds` is not a positive integer
 * @example
 * @Post('email')
 * @RequireFreshAuth(300)
 * changeEmail(@CurrentUser() user: NilvaUser) {}
 */
export function RequireFreshAuth(maxAgeSeconds: number): ClassDecorator & MethodDecorator {
  assertMaxAge(maxAgeSeconds);
  return applyDecorators(SetMetadata(FRESH_AUTH_KEY, maxAgeSeconds), UseGuards(NilvaAuthGuard));
}

// The parameter decorators bind the guard to their handler: a handler that reads the user
// can never run without authentication, whether or not the guard was bound otherwise.
const bindGuard = (target: object, key: string | symbol | undefined): void => {
  if (key === undefined) return;
  const descriptor = Object.getOwnPropertyDescriptor(target, key);
  if (descriptor !== undefined) UseGuards(NilvaAuthGuard)(target, key, descriptor);
};

function contextOf(context: ExecutionContext): AuthSuccess<unknown> | null | undefined {
  return requestContext(nodeRequest(context.switchToHttp().getRequest()));
}

const currentUser = createParamDecorator((_data: unknown, context: ExecutionContext) => contextOf(context)?.user, [bindGuard]);
const currentSession = createParamDecorator((_data: unknown, context: ExecutionContext) => contextOf(context)?.session, [bindGuard]);

/**
 * The authenticated user, as `loadUser` returned it; type the parameter {@link NilvaUser}. It
 * binds {@link NilvaAuthGuard} to the handler, so the route needs credentials; on a
 * `@Public()` route it is `undefined` for an anonymous request.
 *
 * @example
 * @Get('me')
 * me(@CurrentUser() user: NilvaUser) {
 *   return user;
 * }
 */
export function CurrentUser(): ParameterDecorator {
  return currentUser();
}

/**
 * The current session (a `CachedSession`: no token in it), as `@CurrentUser()` the user; it
 * binds {@link NilvaAuthGuard} to the handler too.
 */
export function CurrentSession(): ParameterDecorator {
  return currentSession();
}

/**
 * What {@link NilvaAuthGuard} found for the request of `context`: the user, the session and
 * the scheme, or `undefined` for an anonymous request (or one the guard did not run on). For
 * other guards, interceptors and filters.
 *
 * @example
 * const user = getNilvaContext(context)?.user;
 */
export function getNilvaContext(context: ExecutionContext): NilvaContext<RegisteredUser> | undefined {
  if (context.getType() !== 'http') return undefined;
  const found = contextOf(context);
  if (found === undefined || found === null) return undefined;
  // The guard stores what the module's SessionApi gave, whose user the module typed as RegisteredUser.
  return found as AuthSuccess<RegisteredUser>;
}
