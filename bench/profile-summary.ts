// Summarises the CPU profiles that `npm run bench -- --only http --profile` writes: where each
// server spent its busy time, by category (this library, the framework, Node's HTTP and
// sockets, native work such as syscalls, GC), and this library's costliest functions.
//
//   node --import tsx bench/profile-summary.ts [bench/.out/profiles]
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

interface ProfileNode {
  readonly id: number;
  readonly callFrame: { readonly functionName: string; readonly url: string; readonly lineNumber: number };
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
}

export interface ProfileSummary {
  readonly server: string;
  /** Busy (non-idle) milliseconds sampled. */
  readonly busyMs: number;
  /** Share of busy time per category. */
  readonly categories: Record<string, number>;
  /** This library's functions by self time, share of busy time. */
  readonly library: Array<{ readonly name: string; readonly share: number }>;
}

function category(frame: ProfileNode['callFrame']): string | undefined {
  const { url, functionName } = frame;
  if (functionName === '(idle)') return undefined;
  if (functionName === '(garbage collector)') return 'GC';
  if (functionName === '(program)' || functionName === '(root)') return 'V8 / runtime';
  if (url.includes('/src/') && !url.includes('node_modules')) return 'nilva-session (src/)';
  if (url.includes('/bench/')) return 'benchmark app code';
  if (/node_modules\/(fastify|@fastify|find-my-way|light-my-request|avvio|fast-json-stringify)/.test(url)) return 'framework';
  if (/node_modules\/(express|router|body-parser|finalhandler|send|on-finished|raw-body|qs|path-to-regexp)/.test(url)) return 'framework';
  if (/node_modules\/(hono|@hono)/.test(url)) return 'framework';
  if (/node_modules\/(jose|lru-cache|ua-parser-js)/.test(url)) return 'library dependencies (jose, lru-cache)';
  if (url.includes('node_modules')) return 'other packages';
  if (url.startsWith('node:') || url === '') return url === '' ? 'native (syscalls, crypto, …)' : "Node's http / net / streams";
  return 'other';
}

export function summarizeProfile(server: string, profile: CpuProfile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  for (const [i, id] of profile.samples.entries()) self.set(id, (self.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  const categories: Record<string, number> = {};
  const library = new Map<string, number>();
  let busy = 0;
  for (const [id, micros] of self) {
    const node = byId.get(id);
    if (node === undefined) continue;
    const c = category(node.callFrame);
    if (c === undefined) continue;
    busy += micros;
    categories[c] = (categories[c] ?? 0) + micros;
    if (c === 'nilva-session (src/)' || c === 'library dependencies (jose, lru-cache)') {
      const f = node.callFrame;
      const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(f.url)?.[1];
      const name = `${f.functionName || '(anonymous)'} (${pkg ?? f.url.split('/').slice(-2).join('/')})`;
      library.set(name, (library.get(name) ?? 0) + micros);
    }
  }
  for (const key of Object.keys(categories)) categories[key] = (categories[key] ?? 0) / busy;
  return {
    server,
    busyMs: busy / 1000,
    categories,
    library: [...library]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([name, micros]) => ({ name, share: micros / busy })),
  };
}

/**
 * The main thread's profile of each server directory: `CPU.<date>.<time>.<pid>.<thread>.<seq>.cpuprofile`
 * with thread 0 (tsx's loader thread writes one of its own).
 */
export function readProfiles(dir: string): ProfileSummary[] {
  const out: ProfileSummary[] = [];
  for (const server of readdirSync(dir).sort()) {
    const main = readdirSync(join(dir, server)).find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    if (main === undefined) continue;
    out.push(summarizeProfile(server, JSON.parse(readFileSync(join(dir, server, main), 'utf8')) as CpuProfile));
  }
  return out;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const dir = process.argv[2] ?? fileURLToPath(new URL('./.out/profiles', import.meta.url));
  for (const s of readProfiles(dir)) {
    console.log(`\n${s.server}: ${s.busyMs.toFixed(0)} ms busy`);
    for (const [name, share] of Object.entries(s.categories).sort((a, b) => b[1] - a[1])) {
      console.log(`  ${(share * 100).toFixed(1).padStart(5)} %  ${name}`);
    }
    for (const f of s.library) console.log(`          ${(f.share * 100).toFixed(2).padStart(5)} %  ${f.name}`);
  }
}
