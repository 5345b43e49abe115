import type { Context, MiddlewareHandler } from 'hono';
import { MAX_PAGE_BODY_BYTES, type PageResponse } from '../admin/page-request.js';
import type { SessionPages } from '../admin/session-pages.js';
import { assertKnownOptions, optionNames } from '../lib/option-names.js';
import { nodeEncrypted, nodeRemoteAddress } from './hono-node.js';

/** Options of {@link nilvaHonoPages}. */
export interface NilvaHonoPagesOptions {
  /**
   * The socket's peer address. Default: `@hono/node-server`'s `c.env.incoming`; give your
   * runtime's equivalent elsewhere.
   */
  readonly remoteAddress?: ((c: Context) => string | undefined) | undefined;
  /** Whether the connection is TLS. Default: the Node socket's `encrypted`, else the URL's scheme. */
  readonly encrypted?: ((c: Context) => boolean) | undefined;
}

const HONO_PAGES_OPTIONS = optionNames<NilvaHonoPagesOptions>({ remoteAddress: true, encrypted: true });

function toResponse(response: PageResponse): Response {
  return new Response(response.body === '' ? null : (response.body ?? null), { status: response.status, headers: response.headers });
}

/**
 * Hono middleware serving the pages (sign-in, your devices, admin) of {@link SessionPages}.
 * Use it at the root: the pages know their own paths.
 *
 * @example
 * app.use('*', nilvaHonoPages(new SessionPages({ api, adminStore, isStaff })));
 */
export function nilvaHonoPages<TUser>(pages: SessionPages<TUser>, options: NilvaHonoPagesOptions = {}): MiddlewareHandler {
  if (typeof pages?.handle !== 'function') throw new TypeError('nilva-session: nilvaHonoPages needs a SessionPages');
  assertKnownOptions('nilvaHonoPages', options, HONO_PAGES_OPTIONS);
  const remoteAddress = options.remoteAddress ?? nodeRemoteAddress;
  const encrypted = options.encrypted ?? nodeEncrypted;
  return async (c, next) => {
    const url = new URL(c.req.url);
    if (!pages.owns(url.pathname)) return next();
    const length = Number(c.req.header('content-length') ?? 0);
    if (length > MAX_PAGE_BODY_BYTES) return c.text('Request body too large.', 413);
    let body: string | undefined;
    try {
      body = c.req.method === 'GET' || c.req.method === 'HEAD' ? undefined : await c.req.text();
    } catch {
      return c.text('Could not read the request body.', 400);
    }
    if (body !== undefined && Buffer.byteLength(body) > MAX_PAGE_BODY_BYTES) return c.text('Request body too large.', 413);
    const response = pages.handle({
      method: c.req.method,
      path: url.pathname,
      query: url.searchParams,
      authorization: c.req.header('authorization'),
      cookie: c.req.header('cookie'),
      userAgent: c.req.header('user-agent'),
      origin: c.req.header('origin'),
      secFetchSite: c.req.header('sec-fetch-site'),
      host: c.req.header('host'),
      forwardedProto: c.req.header('x-forwarded-proto'),
      forwardedFor: c.req.header('x-forwarded-for'),
      remoteAddress: remoteAddress(c),
      encrypted: encrypted(c),
      contentType: c.req.header('content-type'),
      body: body === '' ? undefined : body,
    });
    if (response === undefined) return next();
    return toResponse(await response);
  };
}
