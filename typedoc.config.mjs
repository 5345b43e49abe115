// `npm run docs`: the API reference of every subpath export, from the TSDoc in src/, into
// docs/api/ (not committed). The entry points come from package.json `exports`, like the
// vitest aliases, so a new subpath is documented without an edit here.
import { readFileSync } from 'node:fs';

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8'));

/** `./dist/x/y.js` → `src/x/y.ts`, for every export but package.json. */
const entryPoints = Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== './package.json')
  .map(([, target]) => (typeof target === 'string' ? target : target.default).replace(/^\.\/dist\//, 'src/').replace(/\.js$/, '.ts'));

/** @type {Partial<import('typedoc').TypeDocOptions>} */
export default {
  name: pkg.name,
  entryPoints,
  tsconfig: 'tsconfig.build.json',
  out: 'docs/api',
  readme: 'README.md',
  projectDocuments: [
    'docs/contract.md',
    'docs/design.md',
    'docs/differences-from-python.md',
    'docs/migrating-from-django.md',
    'CHANGELOG.md',
    'CONTRIBUTING.md',
  ],
  // Module pages are named by their import specifier (`nilva-session/kysely`), not by the file.
  plugin: ['./scripts/typedoc-module-names.mjs'],
  excludePrivate: true,
  excludeInternal: true,
  // The repository has no public URL yet, so source links would point nowhere.
  disableSources: true,
  // TypeDoc's defaults, plus the fences the documents use (`http` for the contract's examples).
  highlightLanguages: [
    'bash',
    'sql',
    'console',
    'css',
    'html',
    'javascript',
    'json',
    'jsonc',
    'json5',
    'yaml',
    'tsx',
    'typescript',
    'http',
    'sh',
    'ts',
  ],
  treatWarningsAsErrors: true,
  validation: { notExported: true, invalidLink: true, rewrittenLink: true, notDocumented: false, unusedMergeModuleWith: true },
};
