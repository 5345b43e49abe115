import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AbstractHttpAdapter } from '@nestjs/core';
import { json } from '../../http/error-responses.js';
import { MAX_BODY_BYTES, type SessionApi } from '../../http/session-api.js';
import type { RegisteredUser } from '../../index.js';
import { nilvaExpress } from '../express.js';
import { nilvaFastifyRoutes } from '../fastify.js';
import { readStream } from '../read-stream.js';

type Next = (error?: unknown) => void;

interface ExpressApp {
  use(...handlers: unknown[]): unknown;
}

interface FastifyApp {
  register(plugin: unknown, options: object): PromiseLike<unknown>;
}

/**
 * Serves the HTTP contract on Nest's HTTP adapter, by the code of the Express or Fastify
 * integration, so that every status, body and header is theirs. The routes are not a Nest
 * controller: the contract reads the raw body itself (JSON and HTML forms, its own 400, 413 and
 * 415), which Nest's body parsers, running before any controller, would have consumed.
 *
 * - Express: a reader placed before Nest's body parsers (as soon as the adapter exists) reads
 *   the bodies of the contract's paths, and the routes are mounted when the module starts,
 *   after the application's own routes and middleware (CORS included) and before Nest's 404.
 * - Fastify: the routes are an encapsulated plugin with its own body parser
 *   (`nilvaFastifyRoutes`), registered when the module starts.
 */
export class ContractRoutes {
  readonly #api: SessionApi<unknown>;
  /** The full mount path (`/api`, `/v1/auth`, `/`), known once the module starts. */
  #mount: string | undefined;
  readonly #unread = new WeakMap<IncomingMessage, 413 | 400>();

  constructor(api: SessionApi<unknown>) {
    this.#api = api;
  }

  /** Called as soon as the adapter is known: before Nest registers its body parsers. */
  prepare(adapter: AbstractHttpAdapter): void {
    if (adapter.getType() !== 'express') return;
    (adapter.getInstance() as ExpressApp).use(this.#reader);
  }

  /** Called when the module starts (`onModuleInit`), with the global prefix then in force. */
  async mount(adapter: AbstractHttpAdapter, mount: string): Promise<void> {
    this.#mount = mount;
    const type = adapter.getType();
    if (type === 'express') {
      // The routes read only the caller's session, whatever the user type.
      const routes = nilvaExpress(this.#api as SessionApi<RegisteredUser>).routes;
      const unread = this.#unread;
      (adapter.getInstance() as ExpressApp).use(mount, function nilvaSessionRoutes(req: IncomingMessage, res: ServerResponse, next: Next) {
        const status = unread.get(req);
        if (status === undefined) {
          routes(req as never, res as never, next);
          return;
        }
        const answer = json(status, { detail: status === 413 ? 'Request body too large.' : 'Could not read the request body.' });
        res.statusCode = answer.status;
        for (const [name, value] of Object.entries(answer.headers)) res.setHeader(name, value);
        res.end(answer.body);
      });
    } else if (type === 'fastify') {
      await (adapter.getInstance() as FastifyApp).register(
        nilvaFastifyRoutes,
        mount === '/' ? { api: this.#api } : { api: this.#api, prefix: mount },
      );
    } else {
      throw new TypeError(
        `nilva-session: NilvaSessionModule serves its routes on @nestjs/platform-express or @nestjs/platform-fastify, not on a "${type}" adapter; set routesPath: false`,
      );
    }
  }

  /** Whether `url` is one of the contract's paths below the mount (as Express matches it: without case). */
  #owns(url: string | undefined): boolean {
    const mount = this.#mount;
    if (mount === undefined || url === undefined) return false;
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (mount === '/') return this.#api.owns(path);
    if (path.length < mount.length || path.slice(0, mount.length).toLowerCase() !== mount.toLowerCase()) return false;
    const below = path.slice(mount.length);
    return (below === '' || below.startsWith('/')) && this.#api.owns(below);
  }

  // An arrow function: Express calls it without `this`.
  readonly #reader = (req: IncomingMessage, _res: ServerResponse, next: Next): void => {
    if (!this.#owns(req.url)) {
      next();
      return;
    }
    // Read here, the stream ends, and Express's body parsers (Nest's and the application's)
    // pass the request on untouched; the routes find the text in `req.body`, as the Express
    // integration takes a body another middleware read.
    readStream(req, MAX_BODY_BYTES).then(
      (body) => {
        if (body === null) this.#unread.set(req, 413);
        else if (body !== undefined) (req as { body?: unknown }).body = body;
        next();
      },
      () => {
        this.#unread.set(req, 400);
        next();
      },
    );
  };
}

/**
 * The mount path of the routes: Nest's global prefix, then `routesPath`, as a controller's
 * path is joined to it (`'v1'` and `'auth'` give `/v1/auth`).
 */
export function mountPath(globalPrefix: string, routesPath: string): string {
  const parts = [globalPrefix, routesPath].flatMap((part) => part.split('/')).filter((segment) => segment !== '');
  return `/${parts.join('/')}`;
}
