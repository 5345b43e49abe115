import type { TLSSocket } from 'node:tls';
import type { Request, RequestHandler, Response } from 'express';
import { MAX_PAGE_BODY_BYTES, type PageRequest, type PageResponse } from '../admin/page-request.js';
import type { SessionPages } from '../admin/session-pages.js';
import { readStream } from './read-stream.js';

/**
 * Express 5 middleware serving the pages (sign-in, your devices, admin) of
 * {@link SessionPages}. Mount it at the root: the pages know their own paths.
 *
 * @example
 * app.use(nilvaExpressPages(new SessionPages({ api, adminStore, isStaff })));
 */
export function nilvaExpressPages<TUser>(pages: SessionPages<TUser>): RequestHandler {
  if (typeof pages?.handle !== 'function') throw new TypeError('nilva-session: nilvaExpressPages needs a SessionPages');
  return (req, res, next) => {
    const url = new URL(req.originalUrl, 'http://localhost');
    if (!pages.owns(url.pathname)) {
      next();
      return;
    }
    readBody(req).then(
      (body) => {
        if (body === null) {
          res.status(413).type('text/plain').send('Request body too large.');
          return;
        }
        const response = pages.handle(pageRequest(req, url, body));
        if (response === undefined) next();
        else response.then((r) => send(res, r), next);
      },
      () => res.status(400).type('text/plain').send('Could not read the request body.'),
    );
  };
}

function header(req: Request, name: string): string | undefined {
  const value = req.headers[name];
  return Array.isArray(value) ? value.join(', ') : value;
}

function pageRequest(req: Request, url: URL, body: string | undefined): PageRequest {
  return {
    method: req.method,
    path: url.pathname,
    query: url.searchParams,
    authorization: header(req, 'authorization'),
    cookie: header(req, 'cookie'),
    userAgent: header(req, 'user-agent'),
    origin: header(req, 'origin'),
    secFetchSite: header(req, 'sec-fetch-site'),
    host: header(req, 'host'),
    forwardedProto: header(req, 'x-forwarded-proto'),
    forwardedFor: req.headers['x-forwarded-for'],
    remoteAddress: req.socket.remoteAddress,
    encrypted: (req.socket as Partial<TLSSocket>).encrypted === true,
    contentType: header(req, 'content-type'),
    body,
  };
}

function send(res: Response, response: PageResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.end(response.body === '' ? undefined : response.body);
}

/** The raw body as text, `null` past the limit; a body another middleware parsed is re-encoded as a form. */
function readBody(req: Request): Promise<string | undefined | null> {
  if (req.method === 'GET' || req.method === 'HEAD') return Promise.resolve(undefined);
  const parsed: unknown = req.body;
  if (parsed !== undefined && (req.readableEnded || req.complete)) {
    if (typeof parsed === 'string') return Promise.resolve(parsed);
    if (Buffer.isBuffer(parsed)) return Promise.resolve(parsed.toString('utf8'));
    if (typeof parsed === 'object' && parsed !== null) {
      const form = new URLSearchParams();
      for (const [key, value] of Object.entries(parsed)) {
        for (const item of Array.isArray(value) ? value : [value]) form.append(key, String(item));
      }
      return Promise.resolve(form.toString());
    }
  }
  return readStream(req, MAX_PAGE_BODY_BYTES);
}
