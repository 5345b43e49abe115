import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../src/core/config.js';
import type { SessionStore } from '../../src/core/session-store.js';

const store = { findByKeyHash: async () => undefined } as unknown as SessionStore;

describe('resolveConfig', () => {
  test('applies the contract defaults and freezes the result', () => {
    const config = resolveConfig({ store });
    expect(config).toEqual({
      tokenSize: 50,
      sessionTtlSeconds: 86_400,
      idleTimeoutSeconds: null,
      cacheTtlSeconds: 900,
      touchIntervalSeconds: 60,
      userAgentPolicy: 'family',
      tokenKeyword: 'Token',
      bearerKeyword: 'Bearer',
      schemes: ['token'],
      trustProxy: false,
      maxSessionsPerUser: null,
      sessionLimitAction: 'end-least-recent',
      genericErrors: false,
      touchFlushIntervalMs: 1000,
    });
    expect(Object.isFrozen(config)).toBe(true);
  });

  test.each([
    ['tokenSize', 20],
    ['tokenSize', 50.5],
    ['sessionTtlSeconds', 0],
    ['cacheTtlSeconds', '900'],
    ['touchIntervalSeconds', -1],
    ['userAgentPolicy', 'exact'],
    ['tokenKeyword', 'To ken'],
    ['trustProxy', 'yes'],
    ['maxSessionsPerUser', 0],
    ['sessionLimitAction', 'reject'],
    ['genericErrors', 'true'],
    ['loadUser', 'fn'],
    ['bearerKeyword', 'token'],
    ['schemes', ['bearer']],
    ['schemes', []],
  ])('throws a TypeError naming %s for %j', (option, value) => {
    expect(() => resolveConfig({ store, [option]: value })).toThrow(new RegExp(`option "${option}"`));
    expect(() => resolveConfig({ store, [option]: value })).toThrow(TypeError);
  });

  test('needs a store', () => {
    expect(() => resolveConfig({} as never)).toThrow(/option "store"/);
  });

  test('JWT turns on the bearer scheme after the token scheme', () => {
    expect(resolveConfig({ store, jwt: { signingKey: 'k'.repeat(32) } }).schemes).toEqual(['token', 'bearer']);
    expect(resolveConfig({ store, jwt: { signingKey: 'k'.repeat(32) }, schemes: ['bearer'] }).schemes).toEqual(['bearer']);
  });

  test('null turns off the absolute lifetime', () => {
    expect(resolveConfig({ store, sessionTtlSeconds: null }).sessionTtlSeconds).toBeNull();
  });
});
