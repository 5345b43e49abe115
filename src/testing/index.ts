/**
 * Test suites every store and cache implementation must pass (`nilva-session/testing`).
 *
 * @packageDocumentation
 */

export {
  defineSessionAdminStoreConformance,
  type SessionAdminStoreFactory,
  type SessionAdminStoreHarness,
} from './admin-store-conformance.js';
export {
  type CacheConformanceTestApi,
  defineSessionCacheConformance,
  type SessionCacheCapabilities,
  type SessionCacheFactory,
  type SessionCacheHarness,
} from './cache-conformance.js';
export {
  type ConformanceTestApi,
  defineSessionStoreConformance,
  type SessionStoreFactory,
  type SessionStoreHarness,
} from './store-conformance.js';
