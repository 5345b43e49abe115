import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiCredentialFacts } from '../http/api-types.js';

/**
 * The parts of an `ApiRequest` that authentication reads: the headers and socket facts,
 * and for cookie mode the method, the `Cookie` header and the CSRF check's headers.
 */
export type RequestCredentialFacts = ApiCredentialFacts & { readonly method: string };

/**
 * The credential facts of a Node.js request. Express, Fastify and both NestJS adapters hand out
 * the same `IncomingMessage` underneath, so one reading serves them all.
 */
export function nodeRequestFacts(req: IncomingMessage): RequestCredentialFacts {
  const headers = req.headers;
  const proto = headers['x-forwarded-proto'];
  const csrf = headers['x-csrf-token'];
  return {
    // Never undefined on a server's request; an empty one would count as state-changing.
    method: req.method ?? '',
    authorization: headers.authorization,
    userAgent: headers['user-agent'],
    remoteAddress: req.socket.remoteAddress,
    forwardedFor: headers['x-forwarded-for'],
    encrypted: (req.socket as Partial<TLSSocket>).encrypted === true,
    forwardedProto: Array.isArray(proto) ? proto.join(', ') : proto,
    cookie: headers.cookie,
    origin: headers.origin,
    secFetchSite: headers['sec-fetch-site'],
    host: headers.host,
    csrfToken: Array.isArray(csrf) ? csrf[0] : csrf,
  };
}
