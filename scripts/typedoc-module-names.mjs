// A TypeDoc plugin: names each entry point's module page by the specifier users import
// (`nilva-session/kysely`) instead of its file path (`store`), read from package.json `exports`.
import { readFileSync } from 'node:fs';
import { Converter, ReflectionKind } from 'typedoc';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

/** `src/store/index.ts` → `nilva-session/kysely`. */
const specifiers = new Map(
  Object.entries(pkg.exports)
    .filter(([subpath]) => subpath !== './package.json')
    .map(([subpath, target]) => [
      (typeof target === 'string' ? target : target.default).replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'),
      subpath === '.' ? pkg.name : `${pkg.name}/${subpath.slice(2)}`,
    ]),
);

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const module of context.project.getChildrenByKind(ReflectionKind.Module)) {
      const path = context.project.getSymbolIdFromReflection(module)?.packagePath;
      const specifier = path === undefined ? undefined : specifiers.get(path);
      if (specifier !== undefined) module.name = specifier;
    }
    context.project.children?.sort((a, b) => a.name.localeCompare(b.name));
  });
}
