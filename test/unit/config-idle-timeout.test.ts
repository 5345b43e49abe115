import { describe, expect, test } from 'vitest';
import { resolveConfig } from '../../src/core/config.js';
import type { SessionStore } from '../../src/core/session-store.js';

const store = { findByKeyHash: async () => undefined } as unknown as SessionStore;

describe('resolveConfig: idleTimeoutSeconds against touchIntervalSeconds', () => {
  // last_online, which the idle check reads, is written once per touch interval: with a timeout
  // not above it, every session would end that long after its last write however busy it was.
  test.each([
    [30, undefined],
    [60, undefined],
    [120, 120],
    [300, 600],
  ])('refuses idleTimeoutSeconds %j with touchIntervalSeconds %j, naming the option', (idle, touch) => {
    const options = { store, idleTimeoutSeconds: idle, ...(touch === undefined ? {} : { touchIntervalSeconds: touch }) };
    expect(() => resolveConfig(options)).toThrow(TypeError);
    expect(() => resolveConfig(options)).toThrow(/option "idleTimeoutSeconds" must be greater than touchIntervalSeconds \(\d+\)/);
  });

  test('accepts a timeout above the interval, and none', () => {
    expect(resolveConfig({ store, idleTimeoutSeconds: 61 }).idleTimeoutSeconds).toBe(61);
    expect(resolveConfig({ store, idleTimeoutSeconds: 60, touchIntervalSeconds: 30 })).toMatchObject({
      idleTimeoutSeconds: 60,
      touchIntervalSeconds: 30,
    });
    expect(resolveConfig({ store, idleTimeoutSeconds: null, touchIntervalSeconds: 3600 }).idleTimeoutSeconds).toBeNull();
  });
});
