// `npm start`: the demo server. Configuration comes from the environment (the library itself
// never reads it): DATABASE_URL [sqlite:.demo-data/demo.sqlite], PORT [3000], HOST [127.0.0.1].
import { startDemo } from './demo-app.js';

const port = Number(process.env.PORT ?? 3000);
if (!Number.isInteger(port) || port < 0 || port > 65_535) {
  console.error(`PORT must be a port number, got ${JSON.stringify(process.env.PORT)}`);
  process.exit(2);
}

try {
  const demo = await startDemo({
    databaseUrl: process.env.DATABASE_URL || 'sqlite:.demo-data/demo.sqlite',
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
