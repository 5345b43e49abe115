// The profile part: a short Fastify load with `node --cpu-prof` on each server, summarised by
// where the busy time went (bench/profile-summary.ts). Profiling slows a server down, so these
// runs are kept apart from the measured HTTP part.
import { rmSync } from 'node:fs';
import { runHttpLoad } from './http-load.js';
import type { BenchOptions } from './options.js';
import { readProfiles } from './profile-summary.js';
import type { ProfileResults } from './results.js';

export async function runProfile(options: BenchOptions, log: (line: string) => void): Promise<ProfileResults> {
  const configs = ['baseline', 'noop-hook', 'minimal-hook', 'token-memory', 'jwt-memory'] as const;
  rmSync(options.profileDir, { recursive: true, force: true });
  await runHttpLoad(
    { ...options, quick: false, frameworks: ['fastify'], httpConfigs: configs, httpRounds: 2, httpSeconds: 2, profile: true },
    log,
  );
  const servers = readProfiles(options.profileDir);
  for (const s of servers) {
    const lib = (s.categories['nilva-session (src/)'] ?? 0) + (s.categories['library dependencies (jose, lru-cache)'] ?? 0);
    log(`  ${s.server}: ${s.busyMs.toFixed(0)} ms busy, nilva-session and its dependencies ${(lib * 100).toFixed(1)} %`);
  }
  return { servers };
}
