#!/usr/bin/env bash
# Installable from npm: packs every published package (after the build; without the workspace's
# `source` export condition), checks each with publint and arethetypeswrong, installs the tarballs into a fresh project outside the workspace
# (scripts/consumer, copied to a temporary directory), and compiles it with skipLibCheck off and
# runs it: three nodes, a typed call, a graceful stop with handoff.
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
packages=(actor cluster registry supervisor sworm observe)
tarballs=()
for p in "${packages[@]}"; do
  ./node_modules/.bin/publint --strict "packages/$p"
  version="$(node -p "require('./packages/$p/package.json').version")"
  npm pack -w "@swormjs/$p" --pack-destination "$work" --silent >/dev/null
  tarball="$work/swormjs-$p-$version.tgz"
  # Published without the workspace's `source` condition (scripts/published-exports.mjs), and
  # the workspace's manifest back as it was.
  if tar -xOzf "$tarball" package/package.json | grep -q '"source"'; then
    echo "$p: the packed package.json still has a source condition" >&2
    exit 1
  fi
  git diff --quiet -- "packages/$p/package.json" || {
    echo "$p: package.json was not restored after packing" >&2
    exit 1
  }
  # ESM only (documented): CommonJS consumers use import().
  ./node_modules/.bin/attw "$tarball" --profile esm-only
  tarballs+=("$tarball")
done
cp -r scripts/consumer "$work/app"
typescript="$(node -p "require('typescript/package.json').version")"
types_node="$(node -p "require('@types/node/package.json').version")"
cd "$work/app"
npm install --no-audit --no-fund --loglevel=error "${tarballs[@]}" "typescript@$typescript" "@types/node@$types_node"
./node_modules/.bin/tsc -p .
node dist/main.js
