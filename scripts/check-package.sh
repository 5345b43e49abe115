#!/usr/bin/env bash
# Packaging check: pack the built package, install the tarball into a scratch project with the
# optional peers it needs, import every subpath export from plain Node ESM, run the CLI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cd "$root"
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n 1)
cd "$scratch"
npm init -y >/dev/null
peers=$(node -e '
  const p = require(process.argv[1]);
  const dev = p.devDependencies;
  console.log(Object.keys(p.peerDependencies).map((n) => `${n}@${dev[n] ?? p.peerDependencies[n]}`).join(" "));
' "$root/package.json")
# shellcheck disable=SC2086
npm install --no-audit --no-fund --prefer-offline --silent "./$tarball" $peers

cat > check.mjs <<'JS'
import { readFileSync } from 'node:fs';
const pkg = JSON.parse(readFileSync('node_modules/nilva-session/package.json', 'utf8'));
const subpaths = Object.keys(pkg.exports).filter((s) => s !== './package.json');
for (const subpath of subpaths) {
  const name = subpath === '.' ? 'nilva-session' : `nilva-session/${subpath.slice(2)}`;
  const mod = await import(name);
  const names = Object.keys(mod);
  if (names.length === 0) throw new Error(`${name} exports nothing`);
  console.log(`ok ${name}: ${names.length} exports`);
}
const { SessionManager, MemorySessionCache } = await import('nilva-session');
if (typeof SessionManager !== 'function' || typeof MemorySessionCache !== 'function') throw new Error('root exports missing');
JS
node check.mjs
npx --no-install nilva-session --help | head -n 1
echo "package check passed"
