import type { IncomingMessage } from 'node:http';
import type { TLSSocket } from 'node:tls';
import type { ApiRequest } from '../http/api-types.js';

/** The parts of an {@link ApiRequest} that authentication reads (headers and socket facts). */
export type RequestCredentialFacts = Pick<
  ApiRequest,
  'authorization' | 'userAgent' | 'remoteAddress' | 'forwardedFor' | 'encrypted' | 'forwardedProto'
>;

/**
 * The credential facts of a Node.js request. Express, Fastify and both NestJS adapters hand out
 * the same `IncomingMessage` underneath, so one reading serves them all.
 */
export function nodeRequestFacts(req: IncomingMessage): RequestCredentialFacts {
  const headers = req.headers;
  const proto = headers['x-forwarded-proto'];
  return {
    authorization: headers.authorization,
    userAgent: headers['user-agent'],
    remoteAddress: req.socket.remoteAddress,
    forwardedFor: headers['x-forwarded-for'],
    encrypted: (req.socket as Partial<TLSSocket>).encrypted === true,
    forwardedProto: Array.isArray(proto) ? proto.join(', ') : proto,
  };
}
