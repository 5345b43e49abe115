// The JSON Schemas (2020-12, OpenAPI 3.1's dialect) of the contract's bodies. Only keywords of
// JSON Schema itself: the schemas validate with any 2020-12 validator as they stand.

/** A JSON object under construction (the document is plain JSON). */
export type Json = { [key: string]: unknown };

/** A reference to a component of kind `kind` (`schemas`, `responses`, `headers`, …). */
export function ref(kind: string, name: string): Json {
  return { $ref: `#/components/${kind}/${name}` };
}

const messageList: Json = { type: 'array', items: { type: 'string' }, minItems: 1 };

const LOWERCASE_UUID = '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$';

const jwt: Json = {
  type: 'string',
  description: 'A compact JWS (three base64url parts).',
  pattern: '^[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+$',
};

const sessionId: Json = {
  type: 'string',
  format: 'uuid',
  pattern: LOWERCASE_UUID,
  description: "The session's id, lowercase with hyphens.",
};

const expireAt: Json = {
  type: ['string', 'null'],
  format: 'date-time',
  description: 'When the session ends (ISO 8601, UTC), or `null` for sessions without an absolute lifetime (`sessionTtlSeconds: null`).',
};

const timestamp = (description: string): Json => ({ type: 'string', format: 'date-time', description });

/** What the builder needs to know to write the schemas. */
export interface SchemaFeatures {
  readonly tokenSize: number;
  readonly jwt: boolean;
  readonly rotateRefreshTokens: boolean;
  /** An invalid access JWT is answered in simplejwt's shape with `messages` (a `Bearer` scheme, no `genericErrors`). */
  readonly tokenNotValidShape: boolean;
  /** Cookie mode: what the sign-in bodies carry instead of (or besides) the token. */
  readonly cookie: { readonly tokenInBody: boolean } | undefined;
}

/** `components.schemas`. */
export function componentSchemas(f: SchemaFeatures): Json {
  const schemas: Json = {
    Error: {
      type: 'object',
      description:
        "Django REST framework's error shape. `detail` is for people (never branch on it); `code`, where present, is stable: `token_not_valid`, `bad_authorization_header`, `no_active_account`, `insecure_transport`, `session_limit`, `reauthentication_required`, and in cookie mode `csrf_failed` and `conflicting_credentials`.",
      required: ['detail'],
      properties: { detail: { type: 'string' }, code: { type: 'string' } },
      additionalProperties: false,
      examples: [{ detail: 'Authentication credentials were not provided.' }],
    },
    NonFieldErrors: {
      type: 'object',
      description: 'The JSON body is not an object.',
      required: ['non_field_errors'],
      properties: { non_field_errors: messageList },
      additionalProperties: false,
      examples: [{ non_field_errors: ['Invalid data. Expected a dictionary, but got list.'] }],
    },
    CredentialFieldErrors: {
      type: 'object',
      description: "DRF's per-field errors: each bad field with its messages (several bad fields are reported together).",
      minProperties: 1,
      properties: { username: messageList, password: messageList },
      additionalProperties: false,
      examples: [{ password: ['This field is required.'] }],
    },
    Credentials: {
      type: 'object',
      description: 'Checked by the application (`verifyCredentials`). Other fields are ignored.',
      required: ['username', 'password'],
      properties: {
        username: { type: 'string', minLength: 1, maxLength: 1024, description: 'Trimmed first. A number is taken as its text.' },
        password: { type: 'string', minLength: 1, maxLength: 4096, description: 'Not trimmed. A number is taken as its text.' },
      },
      examples: [{ username: 'alice', password: 'alice-password' }],
    },
    TokenLogin: {
      type: 'object',
      required: ['token', 'session_id', 'expire_at'],
      properties: { token: opaqueToken(f), session_id: sessionId, expire_at: expireAt },
      additionalProperties: false,
    },
    UserAgentData: {
      type: 'object',
      description: 'Parsed from the session\'s stored `User-Agent`: unknown families are `"Other"`, an unknown brand or model is `null`.',
      required: ['os', 'device_brand', 'device_model', 'device_family', 'browser', 'is_mobile', 'is_tablet'],
      properties: {
        os: { type: 'string' },
        device_brand: { type: ['string', 'null'] },
        device_model: { type: ['string', 'null'] },
        device_family: { type: 'string' },
        browser: { type: 'string' },
        is_mobile: { type: 'boolean' },
        is_tablet: { type: 'boolean' },
      },
      additionalProperties: false,
    },
    Session: {
      type: 'object',
      description: 'One of the caller’s active sessions. The token and its hash are never shown.',
      required: ['session_id', 'user_id', 'user_agent_data', 'last_online', 'last_ip', 'created_at', 'expire_at', 'is_current'],
      properties: {
        session_id: sessionId,
        user_id: {
          type: ['integer', 'string'],
          description: "The user's id: a number when the table's `user_id` is an integer, else a string.",
        },
        user_agent_data: ref('schemas', 'UserAgentData'),
        last_online: timestamp('Last activity (ISO 8601, UTC), accurate to within `touchIntervalSeconds`.'),
        last_ip: { type: 'string', description: 'The last client IP seen (IPv4-mapped IPv6 addresses are shown as IPv4).' },
        created_at: timestamp('When the session was created (ISO 8601, UTC).'),
        expire_at: expireAt,
        is_current: { type: 'boolean', description: '`true` for the session this request is authenticated with.' },
      },
      additionalProperties: false,
    },
  };
  if (f.tokenNotValidShape) {
    schemas.TokenNotValid = {
      type: 'object',
      description: "simplejwt's answer to an access token it cannot use: the reason is in `messages[0].message`.",
      required: ['detail', 'code', 'messages'],
      properties: {
        detail: { type: 'string' },
        code: { const: 'token_not_valid' },
        messages: {
          type: 'array',
          minItems: 1,
          items: {
            type: 'object',
            required: ['token_class', 'token_type', 'message'],
            properties: {
              token_class: { type: 'string' },
              token_type: { type: 'string' },
              message: {
                type: 'string',
                examples: ['Token is invalid', 'Token is expired', 'Token has no id', 'Token has no type', 'Token has wrong type'],
              },
            },
            additionalProperties: false,
          },
        },
      },
      additionalProperties: false,
      examples: [
        {
          detail: 'Given token not valid for any token type',
          code: 'token_not_valid',
          messages: [{ token_class: 'AccessToken', token_type: 'access', message: 'Token is invalid' }],
        },
      ],
    };
  }
  if (f.cookie !== undefined) Object.assign(schemas, cookieSignIns(f, f.cookie.tokenInBody));
  if (f.jwt) {
    schemas.RefreshRequest = {
      type: 'object',
      required: ['refresh'],
      properties: { refresh: { type: 'string', minLength: 1, maxLength: 8192, description: 'A refresh token (trimmed first).' } },
    };
    schemas.RefreshFieldErrors = {
      type: 'object',
      description: "DRF's per-field errors.",
      required: ['refresh'],
      properties: { refresh: messageList },
      additionalProperties: false,
      examples: [{ refresh: ['This field is required.'] }],
    };
    schemas.TokenPair = {
      type: 'object',
      description: 'A refresh token and an access token bound to one session (simplejwt’s claims plus the session id).',
      required: ['refresh', 'access'],
      properties: { refresh: jwt, access: jwt },
      additionalProperties: false,
    };
    schemas.RefreshedAccess = {
      type: 'object',
      description: f.rotateRefreshTokens
        ? 'A new access token and a new refresh token (`rotateRefreshTokens`): the old refresh token stops working.'
        : 'A new access token; the refresh token stays valid.',
      required: f.rotateRefreshTokens ? ['access', 'refresh'] : ['access'],
      properties: f.rotateRefreshTokens ? { access: jwt, refresh: jwt } : { access: jwt },
      additionalProperties: false,
    };
    schemas.Blacklisted = { type: 'object', description: 'An empty object.', maxProperties: 0 };
  }
  return schemas;
}

function opaqueToken(f: SchemaFeatures): Json {
  return {
    type: 'string',
    pattern: `^[a-z0-9]{${f.tokenSize}}$`,
    description: 'The opaque token, shown once (only its SHA-256 is stored). Sent back in the `Authorization` header.',
  };
}

/** Cookie mode's sign-in bodies: the session id, the expiry and the CSRF token, with the token as configured. */
function cookieSignIns(f: SchemaFeatures, tokenInBody: boolean): Json {
  const csrf: Json = {
    type: 'string',
    pattern: '^[A-Za-z0-9_-]{43}$',
    description: 'The CSRF token to send as `X-CSRF-Token` on state-changing requests (also in the CSRF cookie).',
  };
  const withToken: Json = {
    type: 'object',
    required: ['token', 'session_id', 'expire_at', 'csrf_token'],
    properties: { token: opaqueToken(f), session_id: sessionId, expire_at: expireAt, csrf_token: csrf },
    additionalProperties: false,
  };
  if (tokenInBody)
    return {
      CookieSignIn: { ...withToken, description: 'Cookie mode: the cookies are set, and the body carries the token too (`tokenInBody`).' },
    };
  return {
    CookieSignIn: {
      type: 'object',
      description: 'Cookie mode: the session cookie holds the token, so the body does not (a script never sees it).',
      required: ['session_id', 'expire_at', 'csrf_token'],
      properties: { session_id: sessionId, expire_at: expireAt, csrf_token: csrf },
      additionalProperties: false,
    },
    CookieSignInWithToken: {
      ...withToken,
      description: 'Cookie mode, `reauthenticate` with the `Authorization` header: the new token is in the body too.',
    },
  };
}
