/**
 * Test suites every store and cache implementation must pass (`nilva-session/testing`).
 *
 * @packageDocumentation
 */
export {
  type ConformanceTestApi,
  defineSessionStoreConformance,
  type SessionStoreFactory,
  type SessionStoreHarness,
} from './store-conformance.js';
