// The README is tested like code: every TypeScript block in it is type-checked under `strict`,
// against the packed tarball installed in a scratch project, with the tsconfig.json the README
// tells users to write.
//
// Convention for the README's code blocks (checked by the first test below):
// - ```ts                 a complete program: type-checked alone, as it stands.
// - ```ts FILE.ts         a complete program the reader saves as FILE.ts (the Usage program is
//                         `ts app.ts`; test/package/newcomer.test.ts runs it).
// - ```ts fragment        a fragment, preceded on the line right above the fence by
//                         `<!-- context: NAME -->`: type-checked as the context block NAME of
//                         test/package/readme-contexts.md (which declares the names the fragment
//                         uses) followed by the fragment, in one file.
// - ```json tsconfig.json the compiler options every block is checked with (exactly one).
// Every other TypeScript-like info string (typescript, tsx, mts, …) is refused, so no block
// escapes the check. Each block is its own program: one block's `declare module` never leaks
// into another's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Fence, parseFences, section, tableRows } from '../helpers/readme-blocks.js';
import {
  check,
  createScratchProject,
  packedTarball,
  peerInstallArgs,
  QUIET_INSTALL,
  README_PATH,
  ROOT,
  type ScratchProject,
} from '../helpers/scratch-package.js';

const README = readFileSync(README_PATH, 'utf8');
const CONTEXTS_PATH = join(import.meta.dirname, 'readme-contexts.md');
const CONTEXTS = readFileSync(CONTEXTS_PATH, 'utf8');
const PACKAGE = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  peerDependencies: Record<string, string>;
  exports: Record<string, unknown>;
};

// Type-checking needs no native build, so --ignore-scripts (better-sqlite3 would compile).
const TYPE_TOOLS = ['typescript@~5.9.3', '@types/node@^20', '@types/express', '@types/pg', '@types/better-sqlite3'];
// The CORS middleware the cookie-mode section configures for each framework (Hono ships its own).
const CORS_PACKAGES = ['cors@^2.8.6', '@types/cors@^2.8.19', '@fastify/cors@^11.4.3'];

// Options stricter than the README's tsconfig that many projects turn on (this repository does):
// every block is checked a second time with them, so it can be pasted into such a project too.
const STRICTER = { exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true, verbatimModuleSyntax: true };

const TS_LIKE = new Set(['typescript', 'tsx', 'mts', 'cts', 'ts-node', 'javascript', 'js', 'jsx', 'mjs', 'cjs']);
const CONTEXT_COMMENT = /^<!--\s*context:\s*([\w-]+)\s*-->$/;

/** A README block to type-check. */
interface CheckedBlock {
  readonly fence: Fence;
  /** How the test calls it: `README.md:141 (ts app.ts)`. */
  readonly label: string;
  /** The context it is checked with, for fragments. */
  readonly context: string | undefined;
}

/** The context blocks of readme-contexts.md by name (`## name` followed by a ts block). */
function contextBlocks(): Map<string, Fence> {
  const byName = new Map<string, Fence>();
  for (const match of CONTEXTS.matchAll(/^## ([\w-]+)$/gm)) {
    const name = match[1] ?? '';
    const fence = parseFences(section(CONTEXTS, `## ${name}`)).find((f) => f.lang === 'ts');
    if (fence !== undefined) byName.set(name, fence);
  }
  return byName;
}

/** Sorts the README's blocks by the convention; `problems` says what breaks it. */
function classify(): { blocks: CheckedBlock[]; tsconfig: Fence[]; problems: string[] } {
  const contexts = contextBlocks();
  const blocks: CheckedBlock[] = [];
  const tsconfig: Fence[] = [];
  const problems: string[] = [];
  for (const fence of parseFences(README)) {
    const where = `README.md:${fence.fenceLine} (\`\`\`${fence.info})`;
    const context = CONTEXT_COMMENT.exec(fence.lineBefore.trim())?.[1];
    if (fence.lang === 'json' && fence.words.includes('tsconfig.json')) tsconfig.push(fence);
    if (TS_LIKE.has(fence.lang.toLowerCase())) {
      problems.push(`${where}: write TypeScript as \`\`\`ts (complete) or \`\`\`ts fragment, so that it is type-checked`);
      continue;
    }
    if (fence.lang !== 'ts') {
      if (context !== undefined) problems.push(`${where}: a context comment belongs right above a \`\`\`ts fragment block`);
      continue;
    }
    const [word, ...rest] = fence.words;
    if (rest.length > 0 || (word !== undefined && word !== 'fragment' && !/^[\w.-]+\.ts$/.test(word))) {
      problems.push(`${where}: after ts, write nothing (a complete program), a file name (FILE.ts) or "fragment"`);
    } else if (word === 'fragment') {
      if (context === undefined) {
        problems.push(`${where}: a fragment needs <!-- context: NAME --> on the line right above its fence`);
      } else if (!contexts.has(context)) {
        problems.push(`${where}: context "${context}" is not a "## ${context}" block of test/package/readme-contexts.md`);
      } else {
        blocks.push({ fence, label: `README.md:${fence.fenceLine} (ts fragment, context ${context})`, context });
      }
    } else if (context !== undefined) {
      problems.push(`${where}: a complete program has no context comment (mark it \`\`\`ts fragment)`);
    } else {
      blocks.push({ fence, label: `README.md:${fence.fenceLine} (${fence.info})`, context: undefined });
    }
  }
  if (tsconfig.length !== 1) problems.push(`README.md: expected one \`\`\`json tsconfig.json block, found ${tsconfig.length}`);
  return { blocks, tsconfig, problems };
}

const { blocks, tsconfig } = classify();

/** Runs at most `concurrency` jobs at once. */
function limiter(concurrency: number): <T>(job: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (job) => {
    while (active >= concurrency) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await job();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Where a line of a checked file came from, for error messages. */
function readmeLocation(block: CheckedBlock, fileLine: number, preludeLines: number): string {
  if (fileLine <= preludeLines) return `test/package/readme-contexts.md, context "${block.context}", line ${fileLine}`;
  return `README.md:${block.fence.firstLine + fileLine - preludeLines - 1}`;
}

let project: ScratchProject;
// tsc's errors for each block, by the line of its fence: with the README's tsconfig, and with STRICTER.
const outcomes = new Map<number, { strict: Promise<string[]>; stricter: Promise<string[]> }>();

beforeAll(async () => {
  const tarball = await packedTarball();
  project = await createScratchProject('readme');
  check(await project.npm(['init', '-y']), 'npm init -y');
  check(await project.npm(['pkg', 'set', 'type=module']), 'npm pkg set type=module');
  check(await project.npm(['i', ...QUIET_INSTALL, '--ignore-scripts', tarball, ...peerInstallArgs()]), 'npm i the tarball and every peer');
  check(
    await project.npm(['i', '-D', ...QUIET_INSTALL, '--ignore-scripts', ...TYPE_TOOLS, ...CORS_PACKAGES]),
    'npm i -D typescript, @types and CORS',
  );
  const config = tsconfig[0];
  if (config === undefined) throw new Error('the README has no ```json tsconfig.json block');
  await project.write('tsconfig.json', config.content);
  const contexts = contextBlocks();

  // Every block is written now and checked two at a time (the machine has two cores); each test
  // waits for its own block.
  const limit = limiter(2);
  for (const block of blocks) {
    const prelude =
      block.context === undefined ? '' : `${contexts.get(block.context)?.content ?? ''}// README.md:${block.fence.firstLine}\n`;
    const preludeLines = prelude === '' ? 0 : prelude.split('\n').length - 1;
    const name = `readme-${block.fence.fenceLine}`;
    await project.write(`blocks/${name}.ts`, prelude + block.fence.content);
    const typecheck = async (variant: 'strict' | 'stricter'): Promise<string[]> => {
      const config = `tsconfig.${name}.${variant}.json`;
      // The declarations in node_modules were checked by the first pass (the README's tsconfig has
      // no skipLibCheck); the second checks the block's own code, at under half the cost.
      const options = variant === 'strict' ? { noEmit: true } : { noEmit: true, skipLibCheck: true, ...STRICTER };
      await project.write(config, JSON.stringify({ extends: './tsconfig.json', compilerOptions: options, files: [`blocks/${name}.ts`] }));
      const result = await limit(() => project.run('node', ['node_modules/typescript/bin/tsc', '-p', config, '--pretty', 'false']));
      const errors = result.stdout
        .split('\n')
        .filter((line) => line.trim() !== '')
        .map((line) => {
          const at = /^blocks\/[\w-]+\.ts\((\d+),(\d+)\): (.*)$/.exec(line);
          return at === null ? line : `${readmeLocation(block, Number(at[1]), preludeLines)}:${at[2]}: ${at[3]}`;
        });
      if (result.code !== 0 && errors.length === 0) errors.push(`tsc exited with ${result.code}: ${result.stderr}`);
      return errors;
    };
    const outcome = { strict: typecheck('strict'), stricter: typecheck('stricter') };
    // Marked as handled: a failure is reported by the block's own test, when it awaits it.
    outcome.strict.catch(() => undefined);
    outcome.stricter.catch(() => undefined);
    outcomes.set(block.fence.fenceLine, outcome);
  }
});

afterAll(async () => {
  await project?.remove();
});

describe('README.md', () => {
  test('every TypeScript block is a complete program or a fragment with a declared context', () => {
    expect(classify().problems).toEqual([]);
    expect(blocks.filter((block) => block.context === undefined).length).toBeGreaterThan(0);
  });

  test.each(blocks.map((block) => [block.label, block] as const))(
    '%s type-checks under strict against the packed package',
    async (_label, block) => {
      const errors = await outcomes.get(block.fence.fenceLine)?.strict;
      expect(errors, `tsc found errors in ${block.label}:\n${(errors ?? []).join('\n')}`).toEqual([]);
    },
  );

  test.each(blocks.map((block) => [block.label, block] as const))(
    '%s also type-checks with exactOptionalPropertyTypes, noUncheckedIndexedAccess and verbatimModuleSyntax',
    async (_label, block) => {
      const errors = await outcomes.get(block.fence.fenceLine)?.stricter;
      expect(errors, `tsc found errors in ${block.label} with ${Object.keys(STRICTER).join(', ')}:\n${(errors ?? []).join('\n')}`).toEqual(
        [],
      );
    },
  );

  test('the peer table lists exactly the peerDependencies of package.json, with their ranges', () => {
    const rows = tableRows(section(README, '## Install')).filter(
      (cells) => /^`[@\w/.-]+`$/.test(cells[0] ?? '') && /^`[\^~<>=\d]/.test(cells[1] ?? ''),
    );
    const table = Object.fromEntries(rows.map((cells) => [(cells[0] ?? '').slice(1, -1), (cells[1] ?? '').slice(1, -1)]));
    expect(table).toEqual(PACKAGE.peerDependencies);
  });

  test('one install line per database and framework, naming only peers of the package', () => {
    const install = parseFences(section(README, '## Install')).find((fence) => fence.lang === 'sh');
    const lines = (install?.content ?? '').split('\n').map((line) => line.replace(/#.*/, '').trim());
    const commands = lines.filter((line) => line.startsWith('npm i ')).map((line) => line.split(/\s+/).slice(2));
    for (const driver of ['pg', 'mysql2', 'better-sqlite3']) {
      for (const framework of [['express'], ['fastify'], ['hono', '@hono/node-server']]) {
        expect(commands, `an "npm i nilva-session ${driver} ${framework.join(' ')}" line`).toContainEqual([
          'nilva-session',
          driver,
          ...framework,
        ]);
      }
    }
    expect(commands).toContainEqual(['@redis/client']);
    const named = new Set(commands.flat().filter((name) => name !== 'nilva-session'));
    expect([...named].filter((name) => PACKAGE.peerDependencies[name] === undefined)).toEqual([]);
  });

  test('the entry point table lists exactly the exports of package.json', () => {
    const rows = tableRows(section(README, '### Entry points'));
    const listed = rows.flatMap((cells) => [...(cells[0] ?? '').matchAll(/`(nilva-session[^`]*)`/g)].map((match) => match[1] ?? ''));
    const exported = Object.keys(PACKAGE.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? 'nilva-session' : `nilva-session/${subpath.slice(2)}`));
    expect(listed.sort()).toEqual(exported.sort());
  });
});

// The README's "Modules and TypeScript" says what a CommonJS app meets and which settings work;
// each claim, checked.
describe('README.md, module settings', () => {
  const IMPORTS = "import { SessionManager } from 'nilva-session';\nimport { connectDatabase } from 'nilva-session/kysely';\n";
  const APP = `${IMPORTS}const database = await connectDatabase('sqlite::memory:');\nconsole.log(typeof SessionManager, database.dialect);\n`;

  async function tscIn(type: 'commonjs' | 'module', compilerOptions: Record<string, unknown>, source: string): Promise<string> {
    const dir = `${type}-${Object.values(compilerOptions).join('-')}`;
    await project.write(`${dir}/package.json`, JSON.stringify({ type }));
    await project.write(`${dir}/app.ts`, source);
    await project.write(
      `${dir}/tsconfig.json`,
      JSON.stringify({
        compilerOptions: { target: 'ES2022', strict: true, noEmit: true, ...compilerOptions },
        files: ['app.ts'],
      }),
    );
    const result = await project.run('node', ['node_modules/typescript/bin/tsc', '-p', `${dir}/tsconfig.json`, '--pretty', 'false']);
    return result.stdout;
  }

  test('Node.js requires every entry point from CommonJS at run time', async () => {
    const names = Object.keys(PACKAGE.exports)
      .filter((subpath) => subpath !== './package.json')
      .map((subpath) => (subpath === '.' ? 'nilva-session' : `nilva-session/${subpath.slice(2)}`));
    const script = `for (const name of ${JSON.stringify(names)}) { const m = require(name); if (Object.keys(m).length === 0) throw new Error(name + ' exports nothing'); }`;
    const result = await project.run('node', ['-e', script]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
  });

  test('"module": "commonjs" cannot resolve the package (TS2307)', async () => {
    const output = await tscIn('commonjs', { module: 'commonjs' }, APP);
    expect(output).toContain("error TS2307: Cannot find module 'nilva-session'");
    expect(output).toContain("error TS2307: Cannot find module 'nilva-session/kysely'");
  });

  test('"module": "NodeNext" in a CommonJS file: the imports compile, top-level await is TS1309', async () => {
    expect(
      await tscIn(
        'commonjs',
        { module: 'NodeNext', moduleResolution: 'NodeNext' },
        `${IMPORTS}console.log(SessionManager, connectDatabase);\n`,
      ),
    ).toBe('');
    const output = await tscIn('commonjs', { module: 'NodeNext', moduleResolution: 'NodeNext' }, APP);
    expect(output).toContain('error TS1309');
    expect(output).not.toContain('TS2307');
  });

  test('"module": "NodeNext" with verbatimModuleSyntax in a CommonJS file: every import is TS1295', async () => {
    const output = await tscIn('commonjs', { module: 'NodeNext', moduleResolution: 'NodeNext', verbatimModuleSyntax: true }, APP);
    expect(output).toContain('error TS1295');
  });

  test('"module": "node16" in a CommonJS file refuses the import (TS1479)', async () => {
    const output = await tscIn('commonjs', { module: 'node16', moduleResolution: 'node16' }, APP);
    expect(output).toContain('error TS1479');
  });

  test('"module": "preserve" with "moduleResolution": "bundler" type-checks the imports', async () => {
    expect(await tscIn('module', { module: 'preserve', moduleResolution: 'bundler' }, APP)).toBe('');
  });
});
