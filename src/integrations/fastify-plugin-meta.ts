import { assertKnownOptions } from '../lib/option-names.js';

// The properties Fastify reads off a plugin function when it is registered (what the
// `fastify-plugin` package sets), written here so the package needs no extra peer dependency.
const SKIP_OVERRIDE = Symbol.for('skip-override');
const DISPLAY_NAME = Symbol.for('fastify.display-name');
const PLUGIN_META = Symbol.for('plugin-meta');

/** The `register` options Fastify itself reads; a plugin is handed them along with its own. */
const FASTIFY_REGISTER_OPTIONS = ['prefix', 'logLevel', 'logSerializers'] as const;

/**
 * Names `plugin` for Fastify 5 (its errors and `printPlugins()` say `name`, and the version check
 * refuses other majors). `encapsulate: false` is what `fastify-plugin` does by default: the
 * plugin's decorators and hooks land in the context that registered it, not in a child of it.
 */
export function fastifyPlugin<T extends object>(plugin: T, name: string, options: { readonly encapsulate: boolean }): T {
  return Object.assign(plugin, {
    [SKIP_OVERRIDE]: !options.encapsulate,
    [DISPLAY_NAME]: name,
    [PLUGIN_META]: Object.freeze({ name, fastify: '5.x' }),
  });
}

/**
 * {@link assertKnownOptions} for a Fastify plugin: Fastify's own `register` options pass. A
 * plugin that is not encapsulated refuses `prefix` with `prefixHint`: Fastify ignores a prefix
 * given to such a plugin, so whatever the caller meant to move would silently stay put.
 */
export function assertKnownPluginOptions(owner: string, options: object, known: readonly string[], prefixHint?: string): void {
  if (prefixHint !== undefined && (options as { prefix?: unknown }).prefix !== undefined) {
    throw new TypeError(`nilva-session: ${owner} takes no "prefix"; ${prefixHint}`);
  }
  const reserved = prefixHint === undefined ? FASTIFY_REGISTER_OPTIONS : FASTIFY_REGISTER_OPTIONS.filter((name) => name !== 'prefix');
  assertKnownOptions(owner, options, [...known, ...reserved]);
}
