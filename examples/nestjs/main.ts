// A complete NestJS app on nilva-session: sign-up, login, a protected route, logout.
// Configuration from the environment: DATABASE_URL [sqlite:./nestjs.sqlite] (or postgres://…,
// mysql://…), PORT [3000], HOST [127.0.0.1].
import { NestFactory } from '@nestjs/core';
import { connectDatabase, migrateSessionStore } from 'nilva-session/kysely';
import { AppModule } from './app.module.js';
import { type AppUser, Users, type UsersDatabase } from './users.js';

// Declared once, this types `@CurrentUser() user: NilvaUser` as AppUser everywhere in the app.
declare module 'nilva-session' {
  interface Register {
    user: AppUser;
  }
}

const databaseUrl = process.env.DATABASE_URL || 'sqlite:./nestjs.sqlite';
const host = process.env.HOST || '127.0.0.1';
const port = Number(process.env.PORT || 3000);

// The sessions live in the app's own database, next to its users.
const database = await connectDatabase<UsersDatabase>(databaseUrl);
try {
  // `user_id` is an integer because app_user.id is one; the store reads the type back.
  await migrateSessionStore(database.db, { dialect: database.dialect, userIdType: 'integer' });
  await new Users(database.db, database.dialect).migrate();
} catch (error) {
  await database.close();
  throw error;
}

const app = await NestFactory.create(AppModule.register(database), { logger: ['error', 'warn'] });
app.getHttpAdapter().getInstance().disable('x-powered-by');
await app.listen(port, host);
console.log(`nestjs example listening on ${await app.getUrl()}`);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  console.log(`${signal}: shutting down`);
  // Stops taking requests and lets those in flight finish, then the module writes the
  // buffered `last_online` updates; the pool is closed last.
  await app.close();
  await database.close();
}
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
