import type { IncomingMessage } from 'node:http';
import type { Context } from 'hono';

/** What `@hono/node-server` puts in `c.env`: Node's request, with its socket. */
type NodeEnv = { incoming?: { socket?: { remoteAddress?: string; encrypted?: boolean } } } | undefined;

/** The socket's peer address under `@hono/node-server`; `undefined` on other runtimes. */
export function nodeRemoteAddress(c: Context): string | undefined {
  return (c.env as NodeEnv)?.incoming?.socket?.remoteAddress;
}

/**
 * Whether the connection is TLS: the Node socket's `encrypted` under `@hono/node-server`, else
 * (another runtime, which hands over only the URL) the URL's scheme.
 */
export function nodeEncrypted(c: Context): boolean {
  const socket = (c.env as NodeEnv)?.incoming?.socket;
  return socket === undefined ? new URL(c.req.url).protocol === 'https:' : socket.encrypted === true;
}

/**
 * Node's HTTP/1 request under `@hono/node-server`, else `undefined` (another runtime, or HTTP/2,
 * whose headers hold `:authority` instead of `Host`). Checked by shape, so that this module
 * imports nothing of Node's at run time.
 */
export function nodeIncoming(c: Context): IncomingMessage | undefined {
  const incoming = (c.env as { incoming?: Partial<IncomingMessage> } | undefined)?.incoming;
  if (typeof incoming !== 'object' || incoming === null || incoming.httpVersionMajor !== 1) return undefined;
  return typeof incoming.headers === 'object' && incoming.socket !== undefined ? (incoming as IncomingMessage) : undefined;
}
