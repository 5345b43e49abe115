/**
 * Loads an optional peer dependency (a database driver, the Redis client) only when it is
 * needed, and says which package to install when it is missing, instead of Node's bare
 * `Cannot find package` from deep inside nilva-session.
 *
 * @param load `() => import('pg')`: a literal specifier, so the result stays typed
 * @param name the npm package, e.g. `pg`
 * @param purpose what needs it, e.g. `a postgres:// database URL`
 * @throws Error `nilva-session: a postgres:// database URL needs the package "pg": npm i pg`
 */
export async function importPeer<T>(load: () => Promise<T>, name: string, purpose: string): Promise<T> {
  try {
    return await load();
  } catch (error) {
    const code = typeof error === 'object' && error !== null ? (error as { code?: unknown }).code : undefined;
    if (code !== 'ERR_MODULE_NOT_FOUND' && code !== 'MODULE_NOT_FOUND') throw error;
    throw new Error(
      `nilva-session: ${purpose} needs the package "${name}", which is not installed (or not resolvable from here): npm i ${name}`,
      {
        cause: error,
      },
    );
  }
}
