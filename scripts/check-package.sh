#!/usr/bin/env bash
# Packaging check: pack the package (prepack builds it afresh), lint the tarball with publint
# and Are the Types Wrong, check that its source maps resolve, install it into a scratch project
# with the optional peers it needs, import every subpath export from plain Node ESM, run the CLI.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

cd "$root"
tarball=$(npm pack --silent --pack-destination "$scratch" | tail -n 1)

echo "publint: package.json fields against the files in $tarball"
npx --no-install publint run "$scratch/$tarball" --strict

# The package is ESM-only on purpose: it needs Node >= 20.19, where require() of an ES module
# works, so a CommonJS build would only add a second copy of every class (two SessionError
# classes that instanceof cannot tell apart). The esm-only profile leaves out the node10 and
# node16-from-CommonJS resolutions; every ESM and bundler resolution must still be clean.
echo "attw: types of every subpath export"
npx --no-install attw "$scratch/$tarball" --profile esm-only --no-emoji --no-color

echo "source maps: every map's sources are in the tarball"
mkdir "$scratch/unpacked"
tar -xzf "$scratch/$tarball" -C "$scratch/unpacked"
node -e '
  const fs = require("fs");
  const path = require("path");
  const root = process.argv[1];
  let maps = 0;
  const missing = [];
  const walk = (dir) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const file = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(file);
      else if (file.endsWith(".map")) {
        maps++;
        const map = JSON.parse(fs.readFileSync(file, "utf8"));
        for (const source of map.sources) {
          const resolved = path.resolve(path.dirname(file), map.sourceRoot ?? "", source);
          if (!fs.existsSync(resolved)) missing.push(`${path.relative(root, file)} -> ${source}`);
        }
      }
    }
  };
  walk(root);
  if (missing.length > 0) {
    console.error(`source maps point at files the package does not ship:\n  ${missing.join("\n  ")}`);
    process.exit(1);
  }
  console.log(`${maps} source maps, every source shipped`);
' "$scratch/unpacked/package"

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
