// An HTTP/1.1 client over a bare socket, for the fuzzers: it sends exactly the bytes it is
// given (header values that are not UTF-8, any method, any request target, bodies whose
// Content-Length says what they are), one request per connection, and reads the answer whole.
import { connect } from 'node:net';

/** One request as it goes on the wire. Header values are bytes. */
export interface RawRequest {
  readonly method: string;
  /** The request target: path and query, already percent-encoded as a client sends it. */
  readonly target: string;
  readonly headers: ReadonlyArray<readonly [string, Buffer]>;
  readonly body: Buffer | undefined;
}

/** What came back. `body` is the decoded payload (chunked transfer undone). */
export interface RawResponse {
  readonly status: number;
  /** Header names lowercased; repeated headers joined with `\n`. */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Buffer;
  readonly text: string;
}

/** The request's bytes: `Host` and `Connection: close` first, then the given headers. */
export function encodeRequest(req: RawRequest, host: string): Buffer {
  const parts: Buffer[] = [Buffer.from(`${req.method} ${req.target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n`, 'latin1')];
  for (const [name, value] of req.headers) parts.push(Buffer.from(`${name}: `, 'latin1'), value, Buffer.from('\r\n'));
  if (req.body !== undefined) parts.push(Buffer.from(`Content-Length: ${req.body.length}\r\n`));
  parts.push(Buffer.from('\r\n'));
  if (req.body !== undefined) parts.push(req.body);
  return Buffer.concat(parts);
}

/**
 * Sends `req` to `baseUrl` and resolves with the response once the server closes the
 * connection. A server may answer early (a 413 before the body is read) and close while the
 * body is still being written: the write error is ignored and the answer read as sent. Rejects
 * when nothing parseable came back within `timeoutMs`.
 */
export function rawSend(
  baseUrl: string,
  req: RawRequest,
  options: { localAddress?: string; timeoutMs?: number } = {},
): Promise<RawResponse> {
  const url = new URL(baseUrl);
  const bytes = encodeRequest(req, url.host);
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let settled = false;
    const socket = connect(
      { port: Number(url.port), host: url.hostname, ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) },
      () => {
        socket.write(bytes, () => undefined);
      },
    );
    const timer = setTimeout(() => {
      finish(new Error(`no complete answer within ${timeoutMs} ms`));
      socket.destroy();
    }, timeoutMs);
    const finish = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error !== undefined) {
        reject(error);
        return;
      }
      const parsed = parseResponse(Buffer.concat(chunks), req.method === 'HEAD');
      if (parsed === undefined) reject(new Error(`no HTTP response (${chunks.length} chunks received)`));
      else resolve(parsed);
    };
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    // A reset after the server answered (it closed with unread body bytes) is not a failure.
    socket.on('error', () => undefined);
    socket.on('close', () => finish());
  });
}

/** Parses one HTTP/1.1 response; `undefined` when the bytes hold no status line and head. */
export function parseResponse(data: Buffer, head: boolean): RawResponse | undefined {
  const split = data.indexOf('\r\n\r\n');
  if (split < 0) return undefined;
  const lines = data.subarray(0, split).toString('latin1').split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})/.exec(lines[0] ?? '');
  if (status === null) return undefined;
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}\n${value}`;
  }
  let body = head ? Buffer.alloc(0) : data.subarray(split + 4);
  if (!head && /chunked/i.test(headers['transfer-encoding'] ?? '')) body = dechunk(body);
  else if (!head && headers['content-length'] !== undefined) body = body.subarray(0, Number(headers['content-length']));
  return { status: Number(status[1]), headers, body, text: body.toString('utf8') };
}

function dechunk(body: Buffer): Buffer {
  const out: Buffer[] = [];
  for (let at = 0; at < body.length; ) {
    const eol = body.indexOf('\r\n', at);
    if (eol < 0) break;
    const size = Number.parseInt(body.subarray(at, eol).toString('latin1'), 16);
    if (!(size > 0)) break;
    out.push(body.subarray(eol + 2, eol + 2 + size));
    at = eol + 2 + size + 2;
  }
  return Buffer.concat(out);
}
