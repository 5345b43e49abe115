// nilva-session/nestjs: the NestJS integration. NilvaSessionModule provides the SessionApi and
// its SessionManager and serves the HTTP contract; NilvaAuthGuard and the decorators
// authenticate the application's own routes. Needs @nestjs/common and @nestjs/core 12 with
// @nestjs/platform-express or @nestjs/platform-fastify.

export type { NilvaContext } from '../nilva-context.js';
export type { NilvaUser } from './guard.js';
export {
  CurrentSession,
  CurrentUser,
  getNilvaContext,
  NilvaAuthException,
  NilvaAuthGuard,
  Public,
  RequireFreshAuth,
} from './guard.js';
export type {
  NilvaSessionApiModuleOptions,
  NilvaSessionBuildModuleOptions,
  NilvaSessionModuleAsyncOptions,
  NilvaSessionModuleOptions,
  NilvaSessionModuleRootOptions,
} from './module.js';
export { NILVA_SESSION_API, NILVA_SESSION_MANAGER, NilvaSessionModule } from './module.js';
