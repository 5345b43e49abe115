// `npm start`: the demo server. Configuration comes from the environment (the library itself
// never reads it): DATABASE_URL [sqlite:.demo-data/demo.sqlite], REDIS_URL [none: in-process
// cache], NILVA_SIGNING_KEY [generated], PORT [3000], HOST [127.0.0.1].
import { randomBytes } from 'node:crypto';
import { startDemo } from './demo-app.js';

let signingKey = process.env.NILVA_SIGNING_KEY ?? '';
if (signingKey === '') {
  signingKey = randomBytes(32).toString('base64url');
  // A demo convenience: the key is shown so that a second demo process can share it.
  console.warn('warning: NILVA_SIGNING_KEY is not set; JWTs are signed with a key generated for this run:');
  console.warn(`  NILVA_SIGNING_KEY=${signingKey}`);
  console.warn('  (set it to keep JWTs valid across restarts and shared between demo processes)');
} else if (Buffer.byteLength(signingKey) < 32) {
  console.error('NILVA_SIGNING_KEY must be at least 32 bytes');
  process.exit(2);
}

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

try {
  const demo = await startDemo({
    databaseUrl: process.env.DATABASE_URL || 'sqlite:.demo-data/demo.sqlite',
    redisUrl: process.env.REDIS_URL || undefined,
    signingKey,
    host: process.env.HOST || '127.0.0.1',
    port,
  });
  console.log(`nilva-session demo listening on ${demo.url}`);
  console.log('users: alice/alice-password, bob/bob-password, admin/admin-password (staff)');
  let closing = false;
  const stop = (signal: string) => {
    if (closing) return;
    closing = true;
    console.log(`${signal}: shutting down`);
    demo.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
} catch (error) {
  console.error(`nilva-session demo could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
}
