import {
  type DynamicModule,
  Inject,
  type InjectionToken,
  Module,
  type ModuleMetadata,
  type OnApplicationShutdown,
  type OnModuleInit,
  type OptionalFactoryDependency,
  type Provider,
} from '@nestjs/common';
import { ApplicationConfig, HttpAdapterHost } from '@nestjs/core';
import type { SessionManagerOptions } from '../../core/config.js';
import { SessionManager } from '../../core/session-manager.js';
import { SessionApi, type SessionApiOptions } from '../../http/session-api.js';
import type { RegisteredUser } from '../../index.js';
import { assertKnownOptions } from '../../lib/option-names.js';
import { assertSessionApi } from '../session-api-check.js';
import { ContractRoutes, mountPath } from './routes.js';

/**
 * Injection token of the module's `SessionApi` (the class `SessionApi` is one too):
 * `@Inject(NILVA_SESSION_API) api: SessionApi<AppUser>`.
 */
export const NILVA_SESSION_API: unique symbol = Symbol('nilva-session:SessionApi');

/**
 * Injection token of the module's `SessionManager` (the class `SessionManager` is one too):
 * `@Inject(SessionManager) sessions: SessionManager<AppUser>`.
 */
export const NILVA_SESSION_MANAGER: unique symbol = Symbol('nilva-session:SessionManager');

/** The module's resolved options; internal. */
const STATE = Symbol('nilva-session:NilvaSessionModule');

/** Where the contract's routes go: below Nest's global prefix, like a controller's path. */
interface RoutesOption {
  /**
   * The path of the HTTP contract's routes (`login`, `logout`, `reauthenticate`, `active`,
   * and `token`, `token/refresh`, `token/blacklist` when the manager has `jwt`), joined to
   * Nest's global prefix as a controller's path is: `'api'` serves `POST /api/login`, and with
   * `app.setGlobalPrefix('v1')`, `POST /v1/api/login`; `''` serves them at the root. `false`
   * mounts none (the guard and the decorators work without them).
   *
   * They are served by the adapter (Express or Fastify), not by a Nest controller, with the
   * statuses, bodies and headers of the other integrations: middleware and CORS enabled on the
   * application apply to them; Nest guards, interceptors, pipes, exception filters, versioning
   * and `RouterModule` paths do not.
   */
  readonly routesPath: string | false;
}

/** {@link NilvaSessionModule} options: a ready `SessionApi`. */
export interface NilvaSessionApiModuleOptions<TUser = RegisteredUser> extends RoutesOption {
  /** The API. The module neither builds nor closes its manager. */
  readonly api: SessionApi<TUser>;
}

/**
 * {@link NilvaSessionModule} options: what the module builds the `SessionApi` from. Every
 * `SessionApiOptions` but `manager` is passed on as it is (`verifyCredentials`, `throttle`, …).
 */
export interface NilvaSessionBuildModuleOptions<TUser = RegisteredUser> extends Omit<SessionApiOptions<TUser>, 'manager'>, RoutesOption {
  /**
   * A `SessionManager`, which stays the application's to close; or its options, and then the
   * module builds it, checks the store with `ready()` before the application starts (it fails
   * to start, with what to do, when the session table is missing or the database is
   * unreachable) and closes it (writes the buffered `last_online` updates) on application
   * shutdown, after the HTTP server has stopped. The store and the cache stay the
   * application's either way.
   */
  readonly manager: SessionManager<TUser> | SessionManagerOptions<TUser>;
}

/** What {@link NilvaSessionModule} serves: a ready API, or what to build one from. */
export type NilvaSessionModuleOptions<TUser = RegisteredUser> = NilvaSessionApiModuleOptions<TUser> | NilvaSessionBuildModuleOptions<TUser>;

/**
 * Options of {@link NilvaSessionModule.forRoot}. `isGlobal: true` makes the module global: its
 * providers (and so `NilvaAuthGuard`) are injectable in every module. Default `false`: import
 * the module where they are used.
 */
export type NilvaSessionModuleRootOptions<TUser = RegisteredUser> = NilvaSessionModuleOptions<TUser> & {
  readonly isGlobal?: boolean | undefined;
};

/** Options of {@link NilvaSessionModule.forRootAsync}: the module options come from a factory. */
export interface NilvaSessionModuleAsyncOptions<TUser = RegisteredUser> {
  /** As in {@link NilvaSessionModuleRootOptions}: default `false`. */
  readonly isGlobal?: boolean | undefined;
  /** Modules whose exported providers `inject` names (a `ConfigModule`, a database module). */
  readonly imports?: ModuleMetadata['imports'];
  /** The providers handed to `useFactory`, in order. */
  readonly inject?: ReadonlyArray<InjectionToken | OptionalFactoryDependency> | undefined;
  /** Returns the {@link NilvaSessionModuleOptions} (or a promise of them). */
  readonly useFactory: (...args: never[]) => NilvaSessionModuleOptions<TUser> | Promise<NilvaSessionModuleOptions<TUser>>;
}

interface ModuleState {
  readonly api: SessionApi<unknown>;
  /** Whether the module built the manager, and so closes it. */
  readonly ownsManager: boolean;
  readonly routesPath: string | false;
  readonly routes: ContractRoutes;
}

/**
 * NestJS module of nilva-session: provides the `SessionApi` and its `SessionManager` (by their
 * classes and by {@link NILVA_SESSION_API} / {@link NILVA_SESSION_MANAGER}) and serves the HTTP
 * contract's routes below `routesPath`. Authenticate the application's own routes with
 * `NilvaAuthGuard`.
 *
 * With `Register` declared, the API must serve that user type.
 *
 * @example
 * @Module({
 *   imports: [NilvaSessionModule.forRoot({ api, routesPath: 'api', isGlobal: true })],
 *   providers: [{ provide: APP_GUARD, useClass: NilvaAuthGuard }],
 * })
 * class AppModule {}
 */
export class NilvaSessionModule implements OnModuleInit, OnApplicationShutdown {
  readonly #state: ModuleState;
  readonly #host: HttpAdapterHost;
  readonly #config: ApplicationConfig;

  /** @hidden Nest constructs the module. */
  constructor(state: ModuleState, host: HttpAdapterHost, config: ApplicationConfig) {
    this.#state = state;
    this.#host = host;
    this.#config = config;
    // Fires when the HTTP adapter is set, at once if it is already (NestFactory.create), later
    // for a testing module (createNestApplication): in both cases before Nest's body parsers.
    if (state.routesPath !== false) {
      host.init$.subscribe(() => {
        const adapter = host.httpAdapter as HttpAdapterHost['httpAdapter'] | null | undefined;
        if (adapter !== undefined && adapter !== null) state.routes.prepare(adapter);
      });
    }
  }

  /**
   * The module with options known now.
   *
   * @example
   * NilvaSessionModule.forRoot({ manager: sessions, verifyCredentials: users.verify, routesPath: 'api' })
   */
  static forRoot<TUser extends RegisteredUser>(options: NilvaSessionModuleRootOptions<TUser>): DynamicModule {
    if (typeof options !== 'object' || options === null)
      throw new TypeError('nilva-session: NilvaSessionModule.forRoot needs an options object');
    const { isGlobal, ...moduleOptions } = options;
    return dynamicModule(isGlobal, [], { provide: STATE, useFactory: () => createState(moduleOptions) });
  }

  /**
   * The module with options made by a factory, from injected providers.
   *
   * @example
   * NilvaSessionModule.forRootAsync({
   *   imports: [ConfigModule],
   *   inject: [ConfigService],
   *   useFactory: (config: ConfigService) => ({ api: config.sessionApi(), routesPath: 'api' }),
   * })
   */
  static forRootAsync<TUser extends RegisteredUser>(options: NilvaSessionModuleAsyncOptions<TUser>): DynamicModule {
    if (typeof options !== 'object' || options === null) {
      throw new TypeError('nilva-session: NilvaSessionModule.forRootAsync needs an options object');
    }
    assertKnownOptions('NilvaSessionModule.forRootAsync', options, ['isGlobal', 'imports', 'inject', 'useFactory']);
    const { useFactory } = options;
    if (typeof useFactory !== 'function') throw new TypeError('nilva-session: NilvaSessionModule.forRootAsync needs a useFactory function');
    const factory = useFactory as (...args: unknown[]) => unknown;
    return dynamicModule(options.isGlobal, options.imports ?? [], {
      provide: STATE,
      useFactory: async (...args: unknown[]) => createState(await factory(...args)),
      inject: [...(options.inject ?? [])],
    });
  }

  async onModuleInit(): Promise<void> {
    const { routesPath, routes } = this.#state;
    const adapter = this.#host.httpAdapter as HttpAdapterHost['httpAdapter'] | null | undefined;
    // No adapter: an application context without HTTP (a script, a worker), or a testing
    // module that is not an application.
    if (routesPath === false || adapter === undefined || adapter === null) return;
    await routes.mount(adapter, mountPath(this.#config.getGlobalPrefix(), routesPath));
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.#state.ownsManager) await this.#state.api.manager.close();
  }
}

// Nest's decorators applied as functions, as for NilvaAuthGuard: no decorator support needed
// from whatever compiles this source.
Module({})(NilvaSessionModule);
Inject(STATE)(NilvaSessionModule, undefined, 0);
Inject(HttpAdapterHost)(NilvaSessionModule, undefined, 1);
Inject(ApplicationConfig)(NilvaSessionModule, undefined, 2);

function dynamicModule(isGlobal: unknown, imports: NonNullable<ModuleMetadata['imports']>, state: Provider): DynamicModule {
  if (isGlobal !== undefined && typeof isGlobal !== 'boolean') {
    throw new TypeError(`nilva-session: NilvaSessionModule option "isGlobal" must be a boolean, got ${JSON.stringify(isGlobal)}`);
  }
  const exported = [SessionApi, SessionManager, NILVA_SESSION_API, NILVA_SESSION_MANAGER];
  return {
    module: NilvaSessionModule,
    global: isGlobal === true,
    imports,
    providers: [
      state,
      { provide: SessionApi, useFactory: (s: ModuleState) => s.api, inject: [STATE] },
      { provide: SessionManager, useFactory: (s: ModuleState) => s.api.manager, inject: [STATE] },
      { provide: NILVA_SESSION_API, useExisting: SessionApi },
      { provide: NILVA_SESSION_MANAGER, useExisting: SessionManager },
    ],
    exports: exported,
  };
}

const ROUTES_PATH = /^\/?(?:[A-Za-z0-9._~-]+(?:\/[A-Za-z0-9._~-]+)*)?\/?$/;

async function createState(options: unknown): Promise<ModuleState> {
  if (typeof options !== 'object' || options === null) {
    throw new TypeError(`nilva-session: NilvaSessionModule needs an options object, got ${options === null ? 'null' : typeof options}`);
  }
  const { routesPath, ...rest } = options as Record<string, unknown>;
  if (routesPath !== false && (typeof routesPath !== 'string' || !ROUTES_PATH.test(routesPath))) {
    throw new TypeError(
      `nilva-session: NilvaSessionModule option "routesPath" must be a path such as 'api' or 'v1/auth' (letters, digits, "-", "_", ".", "~" between slashes), or false to serve no routes; got ${JSON.stringify(routesPath) ?? 'undefined'}`,
    );
  }
  if ('isGlobal' in rest) {
    throw new TypeError(
      'nilva-session: "isGlobal" goes next to useFactory in NilvaSessionModule.forRootAsync, not in what useFactory returns',
    );
  }
  if ('api' in rest) {
    assertKnownOptions('NilvaSessionModule', rest, ['api']);
    assertSessionApi('NilvaSessionModule (option "api")', rest.api);
    return { api: rest.api, ownsManager: false, routesPath, routes: new ContractRoutes(rest.api) };
  }
  const { manager, ...apiOptions } = rest;
  if (typeof manager !== 'object' || manager === null) {
    throw new TypeError(
      'nilva-session: NilvaSessionModule needs "api" (a SessionApi), or "manager" (a SessionManager or its options) with "verifyCredentials"',
    );
  }
  if (typeof (manager as Partial<SessionManager<unknown>>).authenticate === 'function') {
    const api = new SessionApi({ ...apiOptions, manager } as unknown as SessionApiOptions<unknown>);
    return { api, ownsManager: false, routesPath, routes: new ContractRoutes(api) };
  }
  const built = new SessionManager(manager as SessionManagerOptions<unknown>);
  try {
    const api = new SessionApi({ ...apiOptions, manager: built } as unknown as SessionApiOptions<unknown>);
    await built.ready();
    return { api, ownsManager: true, routesPath, routes: new ContractRoutes(api) };
  } catch (error) {
    await built.close();
    throw error;
  }
}
