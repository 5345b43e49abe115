// The root entry holds what applications use; the building blocks are under /utils and /jwt.
import type * as Root from 'nilva-session';
import type * as Jwt from 'nilva-session/jwt';
import type * as Utils from 'nilva-session/utils';
import { expectTypeOf, test } from 'vitest';

const HELPERS = [
  'tokenGenerator',
  'randomTokenGenerator',
  'tokenExpireAtGenerator',
  'hashData',
  'pythonUtcString',
  'clientIp',
  'normalizeIp',
  'compileTrustProxy',
  'userAgentData',
  'sameUserAgentFamily',
  'parseAuthorization',
  'isWellFormedToken',
  'KEY_PREFIX_LENGTH',
] as const;
type Helper = (typeof HELPERS)[number];

test('the root exports the engine, its errors and the in-process cache', () => {
  expectTypeOf<keyof typeof Root>().toEqualTypeOf<'SessionManager' | 'SessionError' | 'MemorySessionCache'>();
});

test('the helpers are under nilva-session/utils, under the original’s names', () => {
  expectTypeOf<Helper>().toExtend<keyof typeof Utils>();
  expectTypeOf<keyof typeof Utils>().toEqualTypeOf<Helper>();
  expectTypeOf<typeof Utils.tokenGenerator>().toEqualTypeOf<(size?: number) => string>();
  expectTypeOf<typeof Utils.hashData>().toEqualTypeOf<(data: unknown) => string>();
});

test('the JWT codec is under nilva-session/jwt', () => {
  expectTypeOf<keyof typeof Jwt>().toEqualTypeOf<'JwtCodec'>();
  expectTypeOf<Jwt.JwtVerification>().not.toBeAny();
  expectTypeOf<Jwt.JwtConfig>().not.toBeAny();
  expectTypeOf<Jwt.JwtFailure>().toExtend<string>();
});
