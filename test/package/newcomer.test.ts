// The newcomer's path, exactly as the README's Usage section writes it: its shell steps run one
// by one in an empty directory (`npm init -y`, `npm pkg set type=module`, the Install line with
// the packed tarball in place of `nilva-session`, the dev tools), the README's tsconfig.json and
// app.ts saved as written, `npx tsc` under strict, `node app.js` on a free port; then the
// README's own sign-in request and the protected route, over HTTP.
//
// Nothing here is taken from anywhere but the README: a step the test does not know how to run
// fails the test (so the README cannot grow a step nobody checked), and the install is not
// given --ignore-scripts: better-sqlite3 builds as it would on the newcomer's machine.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { type Fence, parseFences, section } from '../helpers/readme-blocks.js';
import {
  check,
  createScratchProject,
  freePort,
  packedTarball,
  QUIET_INSTALL,
  README_PATH,
  type RunningProcess,
  type ScratchProject,
  startProcess,
} from '../helpers/scratch-package.js';

const README = readFileSync(README_PATH, 'utf8');
const FENCES = parseFences(README);
const USAGE = section(README, '## Usage');
const INSTALL = section(README, '## Install');

/** The README block whose info string is `lang name` (e.g. `ts app.ts`); exactly one must exist. */
function namedBlock(lang: string, name: string): Fence {
  const found = FENCES.filter((fence) => fence.lang === lang && fence.words.includes(name));
  if (found.length !== 1) throw new Error(`README.md: expected one \`\`\`${lang} ${name} block, found ${found.length}`);
  return found[0] as Fence;
}

/** The README's shell blocks in the Usage section: the steps, then the requests. */
function usageShellBlocks(): [Fence, Fence] {
  const blocks = parseFences(USAGE).filter((fence) => fence.lang === 'sh');
  const [steps, requests] = blocks;
  if (steps === undefined || requests === undefined) throw new Error('README.md: the Usage section needs its steps and its curl requests');
  return [steps, requests];
}

const [STEPS, REQUESTS] = usageShellBlocks();
// The steps were parsed from the Usage section alone; this turns their lines into README lines.
const USAGE_OFFSET = README.slice(0, README.indexOf(USAGE)).split('\n').length - 1;
const stepLines = STEPS.content
  .split('\n')
  .map((text, index) => ({ text: text.trim(), line: STEPS.firstLine + index + USAGE_OFFSET }))
  .filter((step) => step.text !== '');

/** The README's sign-in body and what it says /me answers, from its curl requests. */
function readmeRequests(): { login: unknown; me: unknown } {
  const login = /-d '(\{[^']*\})'/.exec(REQUESTS.content)?.[1];
  const me = /\/me\b.*#\s*(\{.*\})\s*$/m.exec(REQUESTS.content)?.[1];
  if (login === undefined || me === undefined)
    throw new Error('README.md: the Usage requests need a -d login body and a "/me … # {…}" answer');
  return { login: JSON.parse(login), me: JSON.parse(me) };
}

let project: ScratchProject | undefined;
let server: RunningProcess | undefined;
let tarball = '';
let port = 0;

afterAll(async () => {
  await server?.stop();
  await project?.remove();
});

describe('a newcomer following only the README', () => {
  // Packing is not the newcomer's work: done first, under the hook's own time limit.
  beforeAll(async () => {
    tarball = await packedTarball();
  });

  test('the Usage steps, as written: npm init -y, the Install line, tsconfig.json and app.ts saved, npx tsc under strict, node app.js', async () => {
    const appTs = namedBlock('ts', 'app.ts');
    const files: Record<string, Fence> = { 'tsconfig.json': namedBlock('json', 'tsconfig.json'), 'app.ts': appTs };
    port = await freePort();

    for (const { text, line } of stepLines) {
      const at = `README.md:${line}: ${text}`;
      const mkdir = /^mkdir ([\w.-]+) && cd \1$/.exec(text);
      if (mkdir?.[1] !== undefined) {
        if (project !== undefined) throw new Error(`${at}: a second project directory`);
        project = await createScratchProject('newcomer', mkdir[1]);
        continue;
      }
      if (project === undefined) throw new Error(`${at}: a step before "mkdir NAME && cd NAME"`);
      const words = text.split(/\s+/);
      if (text.startsWith('#')) {
        // "# save tsconfig.json (above) and app.ts (below), then:" — save the blocks it names.
        const named = [...text.matchAll(/[\w.-]+\.(?:json|ts)\b/g)].map((match) => match[0]);
        for (const name of named) {
          const block = files[name];
          if (block === undefined) throw new Error(`${at}: the README has no block named ${name}`);
          await project.write(name, block.content);
        }
      } else if (text === 'npm init -y' || text.startsWith('npm pkg set ')) {
        check(await project.npm(words.slice(1)), at);
      } else if (text.startsWith('npm i nilva-session ')) {
        // The Install section lists the same line, so the newcomer finds it there too.
        expect(INSTALL.split('\n').map((l) => l.replace(/#.*/, '').trim())).toContain(text);
        check(await project.npm(['i', ...QUIET_INSTALL, tarball, ...words.slice(3)]), at);
      } else if (text.startsWith('npm i -D ')) {
        check(await project.npm(['i', '-D', ...QUIET_INSTALL, ...words.slice(3)]), at);
      } else if (text === 'npx tsc') {
        const result = await project.run('npx', ['--no-install', 'tsc']);
        expect(result.stdout + result.stderr, `${at} (app.ts is README.md:${appTs.firstLine}…)`).toBe('');
        expect(result.code).toBe(0);
      } else if (text === 'node app.js') {
        server = await startProcess('node', ['app.js'], project.dir, { PORT: String(port) }, /listening on /, 60_000);
      } else {
        throw new Error(`${at}: the newcomer test does not know how to run this step`);
      }
    }
    if (project === undefined || server === undefined) throw new Error('README.md: the Usage steps never started the app');

    // The options the README's tsconfig.json gives, and the module type its steps set.
    const packageJson = JSON.parse(await project.read('package.json')) as { type?: string };
    expect(packageJson.type).toBe('module');
    const tsconfig = JSON.parse(await project.read('tsconfig.json')) as { compilerOptions: Record<string, unknown> };
    expect(tsconfig.compilerOptions).toMatchObject({ strict: true, module: 'NodeNext', moduleResolution: 'NodeNext' });
    // The Install line builds better-sqlite3 from source here (no prebuilt binary can be fetched),
    // about a minute alone and more on two shared cores: twice the project's 300 s.
  }, 600_000);

  test("the app answers the README's requests: 401 anonymous, sign-in 200 with a token, /me 200 with the typed user", async () => {
    if (server === undefined) throw new Error('the app did not start (see the test above)');
    const { login, me } = readmeRequests();
    const base = `http://127.0.0.1:${port}`;
    const anonymous = await fetch(`${base}/me`);
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toEqual({ detail: 'Authentication credentials were not provided.' });

    const signIn = await fetch(`${base}/api/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(login),
    });
    expect(signIn.status).toBe(200);
    const session = (await signIn.json()) as { token: string; session_id: string; expire_at: string };
    expect(session.token).toMatch(/^[a-z0-9]{50,}$/);

    const profile = await fetch(`${base}/me`, { headers: { authorization: `Token ${session.token}` } });
    expect(profile.status).toBe(200);
    expect(await profile.json()).toEqual(me);

    const devices = await fetch(`${base}/api/active`, { headers: { authorization: `Token ${session.token}` } });
    expect(devices.status).toBe(200);
    expect(((await devices.json()) as Array<{ session_id: string; is_current: boolean }>).map((s) => [s.session_id, s.is_current])).toEqual(
      [[session.session_id, true]],
    );
  });

  test('a driver the Install line left out is named when connecting: npm i pg', async () => {
    if (project === undefined) throw new Error('the project was not set up (see the first test)');
    // The README's Install section promises this for a missing driver; SQLite's is the one installed.
    const script =
      "import('nilva-session/kysely').then((m) => m.connectDatabase('postgres://postgres@127.0.0.1:5432/test')).then(() => console.log('connected'), (e) => console.log(e.message))";
    const result = check(await project.run('node', ['-e', script]), 'connectDatabase without pg');
    expect(result.stdout).toContain('npm i pg');
  });

  test('the sessions are in the SQLite file the program names, and Ctrl-C (SIGTERM here) ends it with code 0', async () => {
    if (project === undefined || server === undefined) throw new Error('the app did not start (see the first test)');
    expect(existsSync(join(project.dir, 'app.sqlite'))).toBe(true);
    await server.stop();
    // Killed after 5 s when something kept it alive: the signal would then be SIGKILL.
    expect({ code: server.child.exitCode, signal: server.child.signalCode }).toEqual({ code: 0, signal: null });
  });
});
