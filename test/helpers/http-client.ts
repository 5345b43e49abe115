import { request as httpRequest } from 'node:http';

/** What a test sees of a response. */
export interface TestResponse {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly text: string;
  /** The body parsed as JSON, or undefined when it is empty or not JSON. */
  readonly json: unknown;
}

export interface TestRequest {
  readonly method?: string;
  readonly path: string;
  /** Header values are sent as latin1 bytes, so tests can send bytes that are not UTF-8. */
  readonly headers?: Record<string, string>;
  readonly body?: string | Buffer;
  /** The client's source address (any 127.x.y.z works on loopback). */
  readonly localAddress?: string;
}

/** Sees a request `send` made and its response. */
export type ResponseObserver = (request: { readonly method: string; readonly path: string }, response: TestResponse) => void;

const observers = new Map<string, Set<ResponseObserver>>();

/**
 * Opt-in: `observer` sees every exchange `send` (and so `Client`) has with the server at
 * `baseUrl`'s origin, until the returned function is called. The OpenAPI drift check records
 * the scenario tables' responses with it.
 */
export function observeResponses(baseUrl: string, observer: ResponseObserver): () => void {
  const origin = new URL(baseUrl).origin;
  const set = observers.get(origin) ?? new Set();
  set.add(observer);
  observers.set(origin, set);
  return () => {
    set.delete(observer);
    if (set.size === 0 && observers.get(origin) === set) observers.delete(origin);
  };
}

/**
 * A plain HTTP request over a real socket. Unlike fetch it lets a test pick the source address
 * and send raw header bytes.
 */
export function send(baseUrl: string, req: TestRequest): Promise<TestResponse> {
  const url = new URL(req.path, baseUrl);
  const method = req.method ?? 'GET';
  return new Promise((resolve, reject) => {
    const r = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        headers: { ...(req.body === undefined ? {} : { 'content-length': Buffer.byteLength(req.body) }), ...req.headers },
        ...(req.localAddress === undefined ? {} : { localAddress: req.localAddress }),
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = text.length === 0 ? undefined : JSON.parse(text);
          } catch {
            json = undefined;
          }
          const response: TestResponse = { status: res.statusCode ?? 0, headers: res.headers, text, json };
          for (const observer of observers.get(url.origin) ?? []) observer({ method, path: url.pathname + url.search }, response);
          resolve(response);
        });
        res.on('error', reject);
      },
    );
    r.on('error', reject);
    if (req.body !== undefined) r.write(req.body);
    r.end();
  });
}

/** A client bound to one base URL and one User-Agent. */
export class Client {
  constructor(
    readonly baseUrl: string,
    readonly userAgent = 'Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0',
  ) {}

  request(
    method: string,
    path: string,
    options: { token?: string; body?: unknown; headers?: Record<string, string>; localAddress?: string } = {},
  ) {
    const headers: Record<string, string> = { 'user-agent': this.userAgent, ...options.headers };
    if (options.token !== undefined) headers.authorization = `Token ${options.token}`;
    let body: string | undefined;
    if (options.body !== undefined) {
      body = typeof options.body === 'string' ? options.body : JSON.stringify(options.body);
      headers['content-type'] ??= 'application/json';
    }
    return send(this.baseUrl, {
      method,
      path,
      headers,
      ...(body === undefined ? {} : { body }),
      ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }),
    });
  }

  async login(username: string, password: string): Promise<{ token: string; session_id: string; expire_at: string | null }> {
    const res = await this.request('POST', '/api/login', { body: { username, password } });
    if (res.status !== 200) throw new Error(`login failed: ${res.status} ${res.text}`);
    return res.json as { token: string; session_id: string; expire_at: string | null };
  }
}
