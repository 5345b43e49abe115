import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Tests, examples and type tests import the package by its name, as applications do. Each
// subpath export resolves to its source file (dist/x/y.js → src/x/y.ts), so no build is needed
// and a new export needs no entry here.
const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url), 'utf8')) as {
  exports: Record<string, string | { default: string }>;
};
const alias = Object.entries(pkg.exports)
  .filter(([subpath]) => subpath !== './package.json')
  .map(([subpath, target]) => {
    const file = typeof target === 'string' ? target : target.default;
    const source = file.replace(/^\.\/dist\//, './src/').replace(/\.js$/, '.ts');
    const name = subpath === '.' ? 'nilva-session' : `nilva-session/${subpath.slice(2)}`;
    // Longest names first, and exact matches only, so 'nilva-session' never swallows a subpath.
    return { find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: fileURLToPath(new URL(source, import.meta.url)) };
  })
  .sort((a, b) => b.find.source.length - a.find.source.length);

export default defineConfig({
  resolve: { alias },
  test: {
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
        },
      },
      {
        // Type-level tests: `expectTypeOf` assertions checked by tsc, never run.
        extends: true,
        test: {
          name: 'types',
          include: [],
          typecheck: { enabled: true, only: true, include: ['test/types/*.test-d.ts'], tsconfig: './tsconfig.json' },
        },
      },
      {
        // An application that declares `Register`: its own program, since the declaration is
        // global to the program it is in (run both with `--project 'types*'`).
        extends: true,
        test: {
          name: 'types-registered',
          include: [],
          typecheck: {
            enabled: true,
            only: true,
            include: ['test/types/registered/*.test-d.ts'],
            tsconfig: './test/types/registered/tsconfig.json',
          },
        },
      },
      {
        extends: true,
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts', 'examples/**/*.test.ts'],
          // The Redis Cluster of the cluster tests (started when it is not up).
          globalSetup: ['test/helpers/redis-cluster-setup.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        // The packed tarball, installed into scratch projects as a user would (npm pack, npm i).
        extends: true,
        test: {
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
        },
      },
      {
        extends: true,
        test: {
          // Real Chromium (/usr/bin/chromium, from apt) through playwright-core.
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 60_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
