// The NestJS application: sign-up, the contract's routes under /api (login, logout, active),
// and GET /me, which every route's guard protects unless it is @Public().
import {
  BadRequestException,
  Body,
  Controller,
  type DynamicModule,
  Get,
  HttpCode,
  Inject,
  Injectable,
  Module,
  type OnModuleDestroy,
  type OnModuleInit,
  Post,
} from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { MemorySessionCache, SessionManager } from 'nilva-session';
import { type DatabaseConnection, KyselySessionStore } from 'nilva-session/kysely';
import { CurrentUser, NilvaAuthGuard, NilvaSessionModule, type NilvaUser, Public } from 'nilva-session/nestjs';
import { readSignUp, Users, type UsersDatabase } from './users.js';

/** The database connection main.ts opened (and closes after the application). */
export const DATABASE = Symbol('DATABASE');

/** The connection and the users table, for the modules that need them. */
@Module({})
class DataModule {
  static register(database: DatabaseConnection<UsersDatabase>): DynamicModule {
    return {
      module: DataModule,
      providers: [
        { provide: DATABASE, useValue: database },
        { provide: Users, useFactory: (db: DatabaseConnection<UsersDatabase>) => new Users(db.db, db.dialect), inject: [DATABASE] },
      ],
      exports: [DATABASE, Users],
    };
  }
}

@Controller()
class AppController {
  // Nest's decorators here are TypeScript's legacy ones without emitted type metadata, so every
  // injection names its token.
  constructor(@Inject(Users) private readonly users: Users) {}

  @Public()
  @Post('signup')
  @HttpCode(201)
  async signUp(@Body() body: unknown) {
    const input = readSignUp(body);
    if (!input.ok) throw new BadRequestException(input.errors);
    const user = await this.users.signUp(input.username, input.password);
    if (user === undefined) throw new BadRequestException({ username: ['A user with that username already exists.'] });
    return user;
  }

  @Get('me')
  me(@CurrentUser() user: NilvaUser) {
    // AppUser, through the Register declaration in main.ts: no cast.
    return { user };
  }
}

/** Deletes expired sessions once an hour (or run `nilva-session purge` from cron). */
@Injectable()
class SessionPurger implements OnModuleInit, OnModuleDestroy {
  #timer: NodeJS.Timeout | undefined;

  constructor(@Inject(SessionManager) private readonly sessions: SessionManager) {}

  onModuleInit(): void {
    this.#timer = setInterval(() => {
      this.sessions.purgeExpired().catch((error: unknown) => console.error('purge failed:', error));
    }, 3_600_000);
    this.#timer.unref();
  }

  onModuleDestroy(): void {
    clearInterval(this.#timer);
  }
}

@Module({})
// biome-ignore lint/complexity/noStaticOnlyClass: a Nest module is a class; register() makes its dynamic form.
export class AppModule {
  static register(database: DatabaseConnection<UsersDatabase>): DynamicModule {
    const data = DataModule.register(database);
    return {
      module: AppModule,
      imports: [
        data,
        // The module builds the SessionManager from its options, checks the session table
        // before the app starts, and flushes the buffered `last_online` writes on app.close().
        NilvaSessionModule.forRootAsync({
          imports: [data],
          inject: [DATABASE, Users],
          useFactory: (db: DatabaseConnection<UsersDatabase>, users: Users) => ({
            manager: {
              store: new KyselySessionStore({ db: db.db, dialect: db.dialect }),
              cache: new MemorySessionCache(),
              loadUser: users.loadUser,
            },
            verifyCredentials: users.verifyCredentials,
            // POST /api/login, POST /api/logout, GET /api/active, DELETE /api/active.
            routesPath: 'api',
          }),
        }),
      ],
      controllers: [AppController],
      // Every route needs a signed-in user unless it is @Public().
      providers: [{ provide: APP_GUARD, useClass: NilvaAuthGuard }, SessionPurger],
    };
  }
}
