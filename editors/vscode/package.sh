#!/usr/bin/env bash
# Builds the extension's .vsix: installs the pinned dependencies from
# package-lock.json (npm ci, only when node_modules is missing or older than the
# lock file), type-checks, bundles src/ into dist/extension.js with esbuild, and
# packages with @vscode/vsce (no prompts, no network) with the repository's
# licence texts.
#
#   editors/vscode/package.sh [OUTPUT.vsix]      # default: editors/vscode/director.vsix
#
# Uses the Node in $DIRECTOR_NODE24 when set, and vsce from $DIRECTOR_VSCE or
# PATH; `cargo xtask setup` installs both (tests/editors/install-vscode.sh).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
output="$(realpath -m "${1:-$here/director.vsix}")"
cd "$here"

if [ -n "${DIRECTOR_NODE24:-}" ]; then
  PATH="$(dirname "$DIRECTOR_NODE24"):$PATH"
fi
vsce="${DIRECTOR_VSCE:-$(command -v vsce || true)}"
if [ -z "$vsce" ]; then
  echo 'package.sh: @vscode/vsce not found; run `eval "$(cargo xtask setup)"` (it sets DIRECTOR_VSCE)' >&2
  exit 1
fi

if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund >&2
fi
npm run --silent typecheck >&2
npm run --silent bundle >&2
mkdir -p "$(dirname "$output")"
# The extension carries the repository's licence (MIT OR Apache-2.0): both texts,
# put together here so that they are written once in the repository.
{
  echo "Director is licensed under either of the MIT licence or the Apache Licence 2.0,"
  echo "at your option. Both texts follow."
  echo
  cat ../../LICENSE-MIT
  echo
  cat ../../LICENSE-APACHE
} > LICENSE
"$vsce" package --no-dependencies --out "$output" >&2
echo "$output"
