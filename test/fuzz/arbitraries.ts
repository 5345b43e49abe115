// The fast-check arbitraries of the fuzzers. A generated request is symbolic: it names "the
// second token of user 2" or "an access JWT re-signed with user 1's id and user 3's session"
// rather than holding the strings, because sessions come and go while a run goes on (a
// generated logout ends one); FuzzWorld.resolve turns it into bytes against the live sessions.
import fc from 'fast-check';
import { API_ROUTES } from './contract-statuses.js';

/** Users 0…3 of the fuzz world; user 3 is staff (the admin pages). */
export const USER_COUNT = 4;
/** Each user holds two opaque-token sessions (slots 0, 1) and one JWT session (slot 2). */
export const SLOTS = 3;

export interface CredRef {
  readonly user: number;
  readonly slot: number;
}

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** How a forged JWT's claims and header are made. */
export interface ForgedJwt {
  /** `right`: the world's signing key; `wrong`: another key; `none`: `alg: none`, no signature. */
  readonly key: 'right' | 'wrong' | 'none';
  readonly tokenType:
    | { readonly t: 'access' }
    | { readonly t: 'refresh' }
    | { readonly t: 'missing' }
    | { readonly t: 'value'; readonly value: JsonValue };
  readonly userId:
    | { readonly t: 'of'; readonly user: number }
    | { readonly t: 'missing' }
    | { readonly t: 'value'; readonly value: JsonValue };
  readonly sessionId:
    | { readonly t: 'of'; readonly ref: CredRef; readonly upper: boolean }
    | { readonly t: 'missing' }
    | { readonly t: 'uuid'; readonly uuid: string }
    | { readonly t: 'value'; readonly value: JsonValue };
  readonly exp: 'future' | 'past' | 'missing' | { readonly value: JsonValue };
  readonly jti: 'fresh' | 'missing' | { readonly value: JsonValue };
  readonly extra: Readonly<Record<string, JsonValue>>;
  readonly kid: JsonValue | undefined;
}

/** A change to a real secret that keeps it almost valid. */
export type Mutation =
  | { readonly t: 'replace'; readonly at: number; readonly char: string }
  | { readonly t: 'truncate'; readonly at: number }
  | { readonly t: 'append'; readonly text: string }
  | { readonly t: 'upper' }
  /** A JWT with one of its three parts (header, payload, signature) from another user's JWT. */
  | { readonly t: 'splice'; readonly part: number; readonly from: CredRef };

export type Secret =
  | { readonly t: 'token'; readonly ref: CredRef }
  | { readonly t: 'access'; readonly ref: CredRef }
  | { readonly t: 'refresh'; readonly ref: CredRef }
  | { readonly t: 'mutated'; readonly of: Secret; readonly how: Mutation }
  | { readonly t: 'forged'; readonly jwt: ForgedJwt }
  | { readonly t: 'text'; readonly text: string };

export type AuthSpec =
  | { readonly t: 'none' }
  | { readonly t: 'header'; readonly scheme: string; readonly sep: string; readonly secret: Secret; readonly trailer: string }
  | { readonly t: 'raw'; readonly text: string };

/** One `token_id`, or any other id field. */
export type IdItem =
  | { readonly t: 'session'; readonly ref: CredRef; readonly upper: boolean; readonly pad: string }
  | { readonly t: 'uuid'; readonly uuid: string }
  | { readonly t: 'text'; readonly text: string };

export type Field =
  | { readonly t: 'username'; readonly user: number; readonly pad: string }
  | { readonly t: 'password'; readonly user: number; readonly right: boolean }
  | { readonly t: 'secret'; readonly secret: Secret }
  | { readonly t: 'id'; readonly item: IdItem }
  | { readonly t: 'json'; readonly value: JsonValue }
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'long'; readonly char: string; readonly length: number };

export type BodySpec =
  | { readonly t: 'none' }
  | { readonly t: 'fields'; readonly fields: ReadonlyArray<readonly [string, Field]>; readonly encoding: 'json' | 'form' }
  | { readonly t: 'json'; readonly value: JsonValue }
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'bytes'; readonly bytes: Uint8Array }
  | { readonly t: 'huge'; readonly size: number; readonly fill: 'json' | 'form' | 'bytes' };

export type QuerySpec =
  | { readonly t: 'none' }
  | { readonly t: 'params'; readonly params: ReadonlyArray<readonly [string, Field]> }
  | { readonly t: 'raw'; readonly text: string };

export type UserAgentSpec =
  | { readonly t: 'session' }
  | { readonly t: 'other' }
  | { readonly t: 'none' }
  | { readonly t: 'text'; readonly text: string }
  | { readonly t: 'long'; readonly length: number };

export type CookieSpec =
  | { readonly t: 'none' }
  | { readonly t: 'session'; readonly name: string; readonly secret: Secret; readonly before: string; readonly after: string }
  | { readonly t: 'raw'; readonly text: string };

export type OriginSpec =
  | { readonly t: 'same' }
  | { readonly t: 'other' }
  | { readonly t: 'none' }
  | { readonly t: 'text'; readonly text: string };

export type DuplicateSpec =
  | { readonly t: 'none' }
  | { readonly t: 'header'; readonly name: 'Authorization' | 'Cookie' | 'Content-Type' | 'User-Agent'; readonly secret: Secret };

/** A whole generated request. */
/** A path exactly as sent (percent-encoded by the generator where it means to be), or an admin session page. */
export type PathSpec =
  | { readonly t: 'raw'; readonly path: string }
  | { readonly t: 'admin-session'; readonly item: IdItem; readonly tail: string };

export interface RequestSpec {
  readonly path: PathSpec;
  /** `natural` picks the route's own method (for `active`, `alt` picks DELETE over GET). */
  readonly method: { readonly t: 'natural'; readonly alt: boolean } | { readonly t: 'other'; readonly method: string };
  readonly query: QuerySpec;
  readonly auth: AuthSpec;
  readonly userAgent: UserAgentSpec;
  readonly contentType: { readonly t: 'match' } | { readonly t: 'none' } | { readonly t: 'value'; readonly value: string };
  readonly body: BodySpec;
  readonly cookie: CookieSpec;
  readonly origin: OriginSpec;
  readonly secFetchSite: string | undefined;
  /** The client's source address, 127.0.0.x: the throttle counts per address. */
  readonly sourceHost: number;
  /** A header sent twice (frameworks differ: Node keeps the first Authorization, fetch joins them). */
  readonly duplicate: DuplicateSpec;
}

// ---------------------------------------------------------------------------------------------
// Text

/** Characters a header value may carry on the wire: HTAB, visible ASCII, space, obs-text. */
const headerChar = fc
  .oneof({ weight: 8, arbitrary: fc.integer({ min: 0x20, max: 0x7e }) }, fc.constant(9), {
    weight: 2,
    arbitrary: fc.integer({ min: 0x80, max: 0xff }),
  })
  .map((c) => String.fromCharCode(c));

/** A header value: latin1 text, possibly bytes that are not UTF-8. */
export const headerText = (maxLength = 60) =>
  fc.oneof(
    fc.string({ unit: headerChar, maxLength }),
    // UTF-8 text sent as its bytes.
    fc.string({ unit: 'grapheme', maxLength }).map((s) => utf8AsHeader(s)),
  );

/** The UTF-8 bytes of `text` as a latin1 string, with control bytes replaced (no valid header holds them). */
export function utf8AsHeader(text: string): string {
  return withoutControlBytes(Buffer.from(text, 'utf8').toString('latin1'));
}

/** `text` with every control character but HTAB (which Node's parser refuses in a header) replaced by `?`. */
export function withoutControlBytes(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out += (c < 0x20 && c !== 9) || c === 0x7f ? '?' : text[i];
  }
  return out;
}

/** Text with the characters that break parsers and databases: NUL, lone surrogates, controls, emoji, RTL. */
export const nastyText = (maxLength = 40) =>
  fc
    .array(
      fc.oneof(
        { weight: 6, arbitrary: fc.string({ unit: 'grapheme', maxLength: 6 }) },
        { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 4 }) },
        fc.constantFrom(
          '\u0000',
          '\ud800',
          '\udfff',
          '\ud83d',
          '\u200f',
          '\ufeff',
          ' ',
          '\t',
          '\n',
          '\r\n',
          '%',
          '%00',
          '"',
          "'",
          '\\',
          '<',
          '&',
          '+',
          '=',
        ),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
      ),
      { maxLength: Math.max(1, Math.floor(maxLength / 3)) },
    )
    .map((parts) => parts.join('').slice(0, maxLength));

const jsonValue: fc.Arbitrary<JsonValue> = fc.jsonValue({ maxDepth: 3, depthSize: 'small' }) as fc.Arbitrary<JsonValue>;

/** JSON of any shape, strings included that JSON can carry but databases cannot store. */
export const anyJson: fc.Arbitrary<JsonValue> = fc.oneof(
  { weight: 3, arbitrary: jsonValue },
  nastyText(),
  fc.dictionary(
    fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom('username', 'password', 'refresh', '__proto__', 'constructor')),
    jsonValue,
    {
      maxKeys: 4,
    },
  ) as fc.Arbitrary<JsonValue>,
);

// ---------------------------------------------------------------------------------------------
// Credentials

export const credRef: fc.Arbitrary<CredRef> = fc.record({ user: fc.nat({ max: USER_COUNT - 1 }), slot: fc.nat({ max: SLOTS - 1 }) });

const forgedJwt: fc.Arbitrary<ForgedJwt> = fc.record({
  key: fc.constantFrom('right', 'right', 'right', 'wrong', 'none'),
  tokenType: fc.oneof(
    { weight: 6, arbitrary: fc.constant({ t: 'access' as const }) },
    fc.constant({ t: 'refresh' as const }),
    fc.constant({ t: 'missing' as const }),
    jsonValue.map((value) => ({ t: 'value' as const, value })),
  ),
  userId: fc.oneof(
    { weight: 6, arbitrary: fc.nat({ max: USER_COUNT - 1 }).map((user) => ({ t: 'of' as const, user })) },
    fc.constant({ t: 'missing' as const }),
    anyJson.map((value) => ({ t: 'value' as const, value })),
  ),
  sessionId: fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('of' as const), ref: credRef, upper: fc.boolean() }) },
    fc.constant({ t: 'missing' as const }),
    fc.uuid().map((uuid) => ({ t: 'uuid' as const, uuid })),
    anyJson.map((value) => ({ t: 'value' as const, value })),
  ),
  exp: fc.oneof(
    { weight: 6, arbitrary: fc.constant('future' as const) },
    fc.constantFrom('past' as const, 'missing' as const),
    jsonValue.map((value) => ({ value })),
  ),
  jti: fc.oneof(
    { weight: 6, arbitrary: fc.constant('fresh' as const) },
    fc.constant('missing' as const),
    jsonValue.map((value) => ({ value })),
  ),
  extra: fc.dictionary(fc.string({ maxLength: 6 }), jsonValue, { maxKeys: 2 }),
  kid: fc.option(jsonValue, { nil: undefined, freq: 4 }),
});

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    t: fc.constant('replace' as const),
    at: fc.nat({ max: 400 }),
    char: fc.constantFrom('a', '0', 'Z', '.', '-', '_', '=', '\u00e9', ' '),
  }),
  fc.record({ t: fc.constant('truncate' as const), at: fc.nat({ max: 400 }) }),
  fc.record({ t: fc.constant('append' as const), text: fc.oneof(fc.constantFrom('a', '.', '=', '..', '.x'), headerText(4)) }),
  fc.constant({ t: 'upper' as const }),
  fc.record({ t: fc.constant('splice' as const), part: fc.nat({ max: 2 }), from: credRef }),
);

const realSecret: fc.Arbitrary<Secret> = fc.oneof(
  { weight: 4, arbitrary: credRef.map((ref) => ({ t: 'token' as const, ref })) },
  { weight: 3, arbitrary: credRef.map((ref) => ({ t: 'access' as const, ref })) },
  credRef.map((ref) => ({ t: 'refresh' as const, ref })),
);

export const secret: fc.Arbitrary<Secret> = fc.oneof(
  { weight: 8, arbitrary: realSecret },
  { weight: 3, arbitrary: fc.record({ t: fc.constant('mutated' as const), of: realSecret, how: mutation }) },
  { weight: 3, arbitrary: forgedJwt.map((jwt) => ({ t: 'forged' as const, jwt })) },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        headerText(80),
        fc.stringMatching(/^[a-z0-9]{48,52}$/),
        fc.stringMatching(/^[A-Za-z0-9_-]{1,40}\.[A-Za-z0-9_-]{0,60}\.[A-Za-z0-9_-]{0,40}$/),
      )
      .map((text) => ({ t: 'text' as const, text })),
  },
);

/** `MATCHING_SCHEME`: the scheme the secret is meant for (Token for a token, Bearer for a JWT). */
export const MATCHING_SCHEME = '<matching>';

const scheme = fc.oneof(
  { weight: 16, arbitrary: fc.constant(MATCHING_SCHEME) },
  { weight: 4, arbitrary: fc.constantFrom('Token', 'Bearer') },
  fc.constantFrom('token', 'TOKEN', 'ToKeN', 'bearer', 'BEARER', 'Basic', 'Digest', 'JWT', ''),
  fc.string({ unit: headerChar, maxLength: 8 }),
);

export const authSpec: fc.Arbitrary<AuthSpec> = fc.oneof(
  { weight: 2, arbitrary: fc.constant({ t: 'none' as const }) },
  {
    weight: 10,
    arbitrary: fc.record({
      t: fc.constant('header' as const),
      scheme,
      sep: fc.oneof({ weight: 8, arbitrary: fc.constant(' ') }, fc.constantFrom('  ', '\t', ' \t ', '')),
      secret,
      trailer: fc.oneof({ weight: 8, arbitrary: fc.constant('') }, fc.constantFrom(' ', '\t', ' x', ' a b'), headerText(10)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc
      .oneof(headerText(80), fc.constant(' '.repeat(20)), fc.string({ unit: headerChar, minLength: 2000, maxLength: 6000 }))
      .map((text) => ({ t: 'raw' as const, text })),
  },
);

// ---------------------------------------------------------------------------------------------
// Bodies, queries, headers

export const idItem: fc.Arbitrary<IdItem> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('session' as const),
      ref: credRef,
      upper: fc.boolean(),
      pad: fc.constantFrom('', '', '', ' ', '\t', ' \n'),
    }),
  },
  fc.uuid().map((uuid) => ({ t: 'uuid' as const, uuid })),
  fc
    .oneof(
      nastyText(20),
      fc.constantFrom('', ' ', 'null', '0', '{}', '00000000-0000-0000-0000-00000000000g', 'a'.repeat(100)),
      fc.uuid().map((u) => u.replaceAll('-', '')),
    )
    .map((text) => ({ t: 'text' as const, text })),
);

/** The value of one body or query field, for `name`. */
const field = (name: string): fc.Arbitrary<Field> => {
  const user = fc.nat({ max: USER_COUNT - 1 });
  const common: Array<fc.WeightedArbitrary<Field>> = [
    { weight: 2, arbitrary: anyJson.map((value) => ({ t: 'json' as const, value })) },
    { weight: 2, arbitrary: nastyText().map((text) => ({ t: 'text' as const, text })) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('long' as const),
        char: fc.constantFrom('a', ' ', '\u00e9', '\u0000', '\ud83d\ude00'),
        length: fc.constantFrom(1024, 1025, 4096, 4097, 8192, 8193, 20_000),
      }),
    },
  ];
  switch (name) {
    case 'username':
      return fc.oneof(
        {
          weight: 8,
          arbitrary: fc.record({ t: fc.constant('username' as const), user, pad: fc.constantFrom('', '', '', ' ', '\t', ' \u00a0') }),
        },
        ...common,
      );
    case 'password':
      return fc.oneof({ weight: 8, arbitrary: fc.record({ t: fc.constant('password' as const), user, right: fc.boolean() }) }, ...common);
    case 'refresh':
      return fc.oneof({ weight: 8, arbitrary: secret.map((s) => ({ t: 'secret' as const, secret: s })) }, ...common);
    case 'action':
      return fc.oneof(
        { weight: 8, arbitrary: fc.constantFrom('deactivate', 'delete', 'deactivate-user').map((text) => ({ t: 'text' as const, text })) },
        ...common,
      );
    case 'confirm':
      return fc.oneof({ weight: 8, arbitrary: fc.constant({ t: 'text' as const, text: 'yes' }) }, ...common);
    case 'is_active':
      return fc.oneof({ weight: 8, arbitrary: fc.constantFrom('true', 'false').map((text) => ({ t: 'text' as const, text })) }, ...common);
    case 'user':
      return fc.oneof(
        { weight: 8, arbitrary: fc.nat({ max: USER_COUNT }).map((n) => ({ t: 'text' as const, text: String(n + 1) })) },
        ...common,
      );
    case 'return_to':
    case 'next':
      return fc.oneof(
        {
          weight: 8,
          arbitrary: fc
            .constantFrom('/admin', '/admin?status=active', '/devices', '//evil.example', 'https://evil.example/')
            .map((text) => ({ t: 'text' as const, text })),
        },
        ...common,
      );
    case 'token_id':
    case 'session_id':
    case 'id':
      return fc.oneof({ weight: 8, arbitrary: idItem.map((item) => ({ t: 'id' as const, item })) }, ...common);
    default:
      return fc.oneof(...common);
  }
};

/** Fields and their values, `names` weighted by how often they come. */
const fields = (names: readonly string[], maxLength: number) =>
  fc.array(
    fc
      .oneof(
        { weight: 6, arbitrary: fc.constantFrom(...names) },
        fc.string({ maxLength: 10 }),
        fc.constantFrom('__proto__', 'constructor', 'toString', ''),
      )
      .chain((name) => field(name).map((value) => [name, value] as const)),
    { maxLength },
  );

export const bodySpec = (names: readonly string[], usual: 'json' | 'form'): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant({ t: 'none' as const }) },
    {
      weight: 10,
      arbitrary: fc.record({
        t: fc.constant('fields' as const),
        fields: fields(names, 5),
        encoding: fc.oneof({ weight: 2, arbitrary: fc.constant(usual) }, fc.constantFrom('json' as const, 'form' as const)),
      }),
    },
    // What a client of the routes sends: credentials, right or wrong, or a refresh token.
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('fields' as const),
        fields: fc.oneof(
          fc
            .record({ user: fc.nat({ max: USER_COUNT - 1 }), right: fc.boolean() })
            .map(({ user, right }) => [
              ['username', { t: 'username' as const, user, pad: '' }] as const,
              ['password', { t: 'password' as const, user, right }] as const,
            ]),
          secret.map((s) => [['refresh', { t: 'secret' as const, secret: s }] as const]),
        ),
        encoding: fc.oneof({ weight: 3, arbitrary: fc.constant(usual) }, fc.constantFrom('json' as const, 'form' as const)),
      }),
    },
    { weight: 2, arbitrary: anyJson.map((value) => ({ t: 'json' as const, value })) },
    {
      weight: 2,
      arbitrary: fc
        .oneof(
          nastyText(60),
          fc.constantFrom('{', '{"username":', '[', 'null', '"x"', '1e999', '{"a":1}}', '\ufeff{}', '{"username":"a","password":"b",}'),
        )
        .map((text) => ({ t: 'text' as const, text })),
    },
    { weight: 1, arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }).map((bytes) => ({ t: 'bytes' as const, bytes })) },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('huge' as const),
        size: fc.constantFrom(64 * 1024, 64 * 1024 + 1, 100_000, 300_000),
        fill: fc.constantFrom('json' as const, 'form' as const, 'bytes' as const),
      }),
    },
  );

const CONTENT_TYPES = [
  'application/json',
  'application/json; charset=utf-8',
  'APPLICATION/JSON',
  'application/vnd.api+json',
  'application/x-www-form-urlencoded',
  'application/x-www-form-urlencoded; charset=UTF-8',
  'text/plain',
  'text/xml',
  'multipart/form-data; boundary=x',
  'application/octet-stream',
  '',
  ';',
  'json',
];

export const contentTypeSpec: fc.Arbitrary<RequestSpec['contentType']> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ t: 'match' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'none' as const }) },
  { weight: 3, arbitrary: fc.oneof(fc.constantFrom(...CONTENT_TYPES), headerText(40)).map((value) => ({ t: 'value' as const, value })) },
);

export const userAgentSpec: fc.Arbitrary<UserAgentSpec> = fc.oneof(
  { weight: 20, arbitrary: fc.constant({ t: 'session' as const }) },
  fc.constant({ t: 'other' as const }),
  fc.constant({ t: 'none' as const }),
  headerText(80).map((text) => ({ t: 'text' as const, text })),
  fc.constantFrom(1024, 1025, 5000).map((length) => ({ t: 'long' as const, length })),
);

export const cookieSpec: fc.Arbitrary<CookieSpec> = fc.oneof(
  { weight: 3, arbitrary: fc.constant({ t: 'none' as const }) },
  {
    weight: 6,
    arbitrary: fc.record({
      t: fc.constant('session' as const),
      name: fc.oneof(
        { weight: 6, arbitrary: fc.constant('nilva_session') },
        fc.constantFrom('NILVA_SESSION', 'nilva_session2', 'sessionid'),
      ),
      // Mostly a real token: the cookie carries nothing else.
      secret: fc.oneof({ weight: 3, arbitrary: credRef.map((ref) => ({ t: 'token' as const, ref })) }, secret),
      before: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, fc.constantFrom('a=1; ', 'nilva_session=; ', 'nilva_session=x; ', '; ')),
      after: fc.oneof({ weight: 6, arbitrary: fc.constant('') }, fc.constantFrom('; b=2', ';', '; nilva_session=other', 'x')),
    }),
  },
  { weight: 1, arbitrary: headerText(80).map((text) => ({ t: 'raw' as const, text })) },
);

export const originSpec: fc.Arbitrary<OriginSpec> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ t: 'same' as const }) },
  fc.constant({ t: 'other' as const }),
  fc.constant({ t: 'none' as const }),
  fc.oneof(fc.constantFrom('null', 'http://127.0.0.1', 'http://localhost'), headerText(30)).map((text) => ({ t: 'text' as const, text })),
);

const method = fc.oneof(
  { weight: 8, arbitrary: fc.record({ t: fc.constant('natural' as const), alt: fc.boolean() }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('GET', 'POST', 'DELETE', 'PUT', 'PATCH', 'HEAD', 'OPTIONS').map((m) => ({ t: 'other' as const, method: m })),
  },
);

/** A path segment: text percent-encoded, or raw characters a client might send unencoded. */
const segment = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
  fc.string({ unit: 'grapheme', maxLength: 6 }).map((s) => encodeURIComponent(s)),
  fc.constantFrom('%', '%zz', '%00', '%2F', '%2e%2e', '..', '.', ';x', '~', '%C0%AE', '%ff', '*', '@', ':'),
);

const ROUTES = Object.keys(API_ROUTES);

/** Paths below `/api/` and the app's own, weighted toward the library's routes. */
export const apiPath: fc.Arbitrary<PathSpec> = fc
  .oneof(
    { weight: 12, arbitrary: fc.constantFrom(...ROUTES).map((r) => `/api/${r}`) },
    { weight: 2, arbitrary: fc.constantFrom(...ROUTES).map((r) => `/api/${r}/`) },
    { weight: 3, arbitrary: fc.constantFrom('/api/me', '/api/sensitive', '/open') },
    { weight: 2, arbitrary: fc.array(segment, { minLength: 1, maxLength: 3 }).map((parts) => `/api/${parts.join('/')}`) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '/API/login',
        '/api//login',
        '/api/login/x',
        '/api/./login',
        '/api/log%69n',
        '/api/login%00',
        '/api/login%2F',
        '/api/token/refresh/x',
        '/api/Active',
        '/api',
        '/api/',
        '/',
        '/api/%',
      ),
    },
  )
  .map((path) => ({ t: 'raw' as const, path }));

/** The pages' paths (and a few of the API's, mounted in the same app). */
export const pagePath: fc.Arbitrary<PathSpec> = fc.oneof(
  {
    weight: 12,
    arbitrary: fc
      .oneof(
        { weight: 6, arbitrary: fc.constantFrom('/login', '/logout', '/devices', '/devices/revoke', '/devices/revoke-others') },
        { weight: 4, arbitrary: fc.constantFrom('/admin', '/admin/', '/admin/dashboard', '/admin/actions') },
        {
          weight: 2,
          arbitrary: fc
            .tuple(
              fc.constantFrom('/devices/', '/admin/', '/login/', '/admin/sessions/'),
              fc.array(segment, { minLength: 1, maxLength: 2 }),
            )
            .map(([root, parts]) => `${root}${parts.join('/')}`),
        },
        { weight: 2, arbitrary: fc.constantFrom('/api/login', '/api/active', '/api/logout') },
      )
      .map((path) => ({ t: 'raw' as const, path })),
  },
  {
    weight: 3,
    arbitrary: fc.record({ t: fc.constant('admin-session' as const), item: idItem, tail: fc.constantFrom('', '', '/delete', '/x') }),
  },
);

const API_QUERY_NAMES = ['token_id', 'token_id', 'token_id', 'scope'];
const PAGE_QUERY_NAMES = ['next', 'done', 'status', 'user', 'ip', 'sort', 'order', 'cursor', 'n', 'session_id'];

const queryValue = (name: string): fc.Arbitrary<Field> => {
  if (name === 'scope')
    return fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom('others', 'all').map((text) => ({ t: 'text' as const, text })) },
      field('scope'),
    );
  if (name === 'done')
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom('signed-out', 'revoked', 'revoked-others', 'saved', 'deleted', 'none-selected')
          .map((text) => ({ t: 'text' as const, text })),
      },
      field('done'),
    );
  if (name === 'next')
    return fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom('/devices', '/admin', '//evil.example', 'https://evil.example/', '/admin?x=1', '/devices#x')
          .map((text) => ({ t: 'text' as const, text })),
      },
      field('next'),
    );
  return field(name);
};

const query = (names: readonly string[], maxParams: number): fc.Arbitrary<QuerySpec> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constant({ t: 'none' as const }) },
    {
      weight: 6,
      arbitrary: fc
        .array(
          fc
            .oneof({ weight: 8, arbitrary: fc.constantFrom(...names) }, fc.string({ maxLength: 6 }))
            .chain((name) => queryValue(name).map((value) => [name, value] as const)),
          { minLength: 1, maxLength: maxParams },
        )
        .map((params) => ({ t: 'params' as const, params })),
    },
    {
      weight: 1,
      arbitrary: fc
        .oneof(fc.string({ maxLength: 40 }), fc.constantFrom('%', '&&', '=', 'token_id', 'token_id=', 'scope=', '%00=%00', 'token_id=%ff'))
        .map((text) => ({ t: 'raw' as const, text })),
    },
  );

/** Mostly none; else a second header with a secret of its own (another user's, often). */
const duplicateSpec: fc.Arbitrary<DuplicateSpec> = fc.oneof(
  { weight: 12, arbitrary: fc.constant({ t: 'none' as const }) },
  fc.record({
    t: fc.constant('header' as const),
    name: fc.constantFrom('Authorization' as const, 'Cookie' as const, 'Content-Type' as const, 'User-Agent' as const),
    secret,
  }),
);

const common = {
  duplicate: duplicateSpec,
  userAgent: userAgentSpec,
  contentType: contentTypeSpec,
  auth: authSpec,
  sourceHost: fc.integer({ min: 1, max: 8 }),
};

/** Where a well-formed request goes: each of the library's routes, and the app's. */
const wellFormedApiPath = fc
  .constantFrom(...ROUTES.map((r) => `/api/${r}`), '/api/me', '/api/sensitive', '/open')
  .map((path) => ({ t: 'raw' as const, path }));

/** The body a client of the routes sends: credentials (right, wrong, another user's) or a refresh token. */
const clientBody = (encoding: 'json' | 'form'): fc.Arbitrary<BodySpec> =>
  fc.oneof(
    fc.record({ user: fc.nat({ max: USER_COUNT - 1 }), right: fc.boolean() }).map(({ user, right }) => ({
      t: 'fields' as const,
      encoding,
      fields: [
        ['username', { t: 'username' as const, user, pad: '' }] as const,
        ['password', { t: 'password' as const, user, right }] as const,
      ],
    })),
    realSecret.map((s) => ({ t: 'fields' as const, encoding, fields: [['refresh', { t: 'secret' as const, secret: s }] as const] })),
  );

/** A real credential of any user, with the scheme it is meant for. */
const realAuth: fc.Arbitrary<AuthSpec> = realSecret.map((s) => ({
  t: 'header' as const,
  scheme: MATCHING_SCHEME,
  sep: ' ',
  secret: s,
  trailer: '',
}));

/**
 * A request a real client could send: the route's own method, a live credential of one of the
 * users, the session's User-Agent, a body of the right shape. Without these, the generated
 * requests would rarely get past the first check and the routes' work (listing, ending
 * sessions, refreshing) would go unfuzzed.
 */
const wellFormedApiRequest: fc.Arbitrary<RequestSpec> = fc.record({
  duplicate: fc.constant({ t: 'none' as const }),
  userAgent: fc.constant({ t: 'session' as const }),
  contentType: fc.constant({ t: 'match' as const }),
  auth: fc.oneof({ weight: 6, arbitrary: realAuth }, authSpec),
  sourceHost: fc.integer({ min: 1, max: 8 }),
  path: wellFormedApiPath,
  method: fc.record({ t: fc.constant('natural' as const), alt: fc.boolean() }),
  query: fc.oneof(
    { weight: 2, arbitrary: fc.constant({ t: 'none' as const }) },
    fc
      .array(
        idItem.map((item) => ['token_id', { t: 'id' as const, item }] as const),
        { minLength: 1, maxLength: 6 },
      )
      .map((params) => ({ t: 'params' as const, params })),
    fc
      .constantFrom('others', 'all')
      .map((scope) => ({ t: 'params' as const, params: [['scope', { t: 'text' as const, text: scope }] as const] })),
  ),
  body: fc.oneof({ weight: 4, arbitrary: clientBody('json') }, clientBody('form'), fc.constant({ t: 'none' as const })),
  cookie: fc.constant({ t: 'none' as const }),
  origin: fc.constant({ t: 'none' as const }),
  secFetchSite: fc.constant(undefined),
});

/** A request to the API app: the contract's routes, the app's routes, and paths near them. */
export const apiRequest: fc.Arbitrary<RequestSpec> = fc.oneof(
  { weight: 2, arbitrary: wellFormedApiRequest },
  {
    weight: 3,
    arbitrary: fc.record({
      ...common,
      path: apiPath,
      method,
      // Up to 25 values: the fuzz API allows 20 (maxTokenIds), so "too many" is reached.
      query: query(API_QUERY_NAMES, 25),
      body: bodySpec(['username', 'password', 'refresh'], 'json'),
      cookie: fc.constant({ t: 'none' as const }),
      origin: fc.constant({ t: 'none' as const }),
      secFetchSite: fc.constant(undefined),
    }),
  },
);

const PAGE_FIELDS = ['username', 'password', 'next', 'session_id', 'action', 'id', 'confirm', 'user', 'is_active', 'detail', 'return_to'];

/** What a browser on the pages sends: its cookie, the same origin, a form of the page. */
const wellFormedPageRequest: fc.Arbitrary<RequestSpec> = fc.record({
  duplicate: fc.constant({ t: 'none' as const }),
  userAgent: fc.constant({ t: 'session' as const }),
  contentType: fc.constant({ t: 'match' as const }),
  auth: fc.oneof({ weight: 8, arbitrary: fc.constant({ t: 'none' as const }) }, realAuth),
  sourceHost: fc.integer({ min: 1, max: 8 }),
  path: pagePath,
  method: fc.record({ t: fc.constant('natural' as const), alt: fc.boolean() }),
  query: fc.oneof({ weight: 3, arbitrary: fc.constant({ t: 'none' as const }) }, query(PAGE_QUERY_NAMES, 3)),
  body: fc.oneof(
    { weight: 2, arbitrary: clientBody('form') },
    {
      weight: 3,
      arbitrary: fc.record({ t: fc.constant('fields' as const), fields: fields(PAGE_FIELDS, 4), encoding: fc.constant('form' as const) }),
    },
  ),
  cookie: fc.oneof(
    {
      weight: 6,
      arbitrary: credRef.map((ref) => ({
        t: 'session' as const,
        name: 'nilva_session',
        secret: { t: 'token' as const, ref },
        before: '',
        after: '',
      })),
    },
    fc.constant({ t: 'none' as const }),
  ),
  origin: fc.constant({ t: 'same' as const }),
  secFetchSite: fc.constantFrom(undefined, 'same-origin'),
});

/** A request to the pages app: the pages, their forms and cookie, and a few API routes. */
export const pageRequest: fc.Arbitrary<RequestSpec> = fc.oneof(
  { weight: 2, arbitrary: wellFormedPageRequest },
  {
    weight: 3,
    arbitrary: fc.record({
      ...common,
      // Browsers send the cookie; an Authorization header now and then (the pages accept it too).
      auth: fc.oneof({ weight: 5, arbitrary: fc.constant({ t: 'none' as const }) }, authSpec),
      path: pagePath,
      method,
      query: query(PAGE_QUERY_NAMES, 4),
      body: bodySpec(PAGE_FIELDS, 'form'),
      cookie: cookieSpec,
      origin: originSpec,
      secFetchSite: fc.option(fc.constantFrom('same-origin', 'same-site', 'cross-site', 'none', 'x'), { nil: undefined, freq: 2 }),
    }),
  },
);
