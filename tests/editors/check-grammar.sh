#!/bin/sh
# Checks the requirements tree-sitter grammar (grammars/tree-sitter-requirements):
# the committed generated parser (src/) must be exactly what grammar.js generates,
# and the corpus tests must pass. The tree-sitter CLI is installed
# once into a cache folder (about 4 minutes on 2 cores); later runs reuse it.
# `cargo xtask test` runs it.
#
# Environment: DIRECTOR_TOOLS (default ${XDG_CACHE_HOME:-$HOME/.cache}/director-tools).
# Exit status: 0 and "PASS check-grammar" on success, 1 and "FAIL check-grammar: …" otherwise.
set -u

TREE_SITTER_CLI_VERSION=0.27.1
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
GRAMMAR="$ROOT/grammars/tree-sitter-requirements"
TOOLS=${DIRECTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/director-tools}
CLI="$TOOLS/ts/bin/tree-sitter"
export RUST_BACKTRACE=0
# Where `tree-sitter test` keeps the parser it compiles, outside the repository.
export TREE_SITTER_LIBDIR="$TOOLS/ts/lib"

fail() {
    echo "FAIL check-grammar: $1"
    exit 1
}

if ! "$CLI" --version 2>/dev/null | grep -q "tree-sitter $TREE_SITTER_CLI_VERSION\b"; then
    echo "installing tree-sitter-cli $TREE_SITTER_CLI_VERSION into $TOOLS/ts (about 4 minutes)"
    CARGO_TARGET_DIR="$TOOLS/ts/target" cargo install tree-sitter-cli \
        --version "$TREE_SITTER_CLI_VERSION" --locked --root "$TOOLS/ts" \
        || fail "cargo install tree-sitter-cli $TREE_SITTER_CLI_VERSION"
    "$CLI" --version 2>/dev/null | grep -q "tree-sitter $TREE_SITTER_CLI_VERSION\b" \
        || fail "$CLI is not tree-sitter $TREE_SITTER_CLI_VERSION after installing it"
fi

SCRATCH=$(mktemp -d) || fail "mktemp"
trap 'rm -rf "$SCRATCH"' EXIT
# Work on a copy so that nothing here can modify the repository.
cp -R "$GRAMMAR/grammar.js" "$GRAMMAR/tree-sitter.json" "$GRAMMAR/queries" "$GRAMMAR/test" "$SCRATCH/" \
    || fail "copying the grammar"
mkdir -p "$TREE_SITTER_LIBDIR"

# ABI 14 because Director's tree-sitter runtime (0.25) also loads it, and so do older
# editors (Neovim 0.10 ships the 0.22 runtime).
(cd "$SCRATCH" && "$CLI" generate --abi 14 --js-runtime native) || fail "tree-sitter generate"
if ! diff -r "$SCRATCH/src" "$GRAMMAR/src" >"$SCRATCH/generated.diff"; then
    head -n 40 "$SCRATCH/generated.diff"
    fail "the committed src/ differs from what grammar.js generates; run: (cd grammars/tree-sitter-requirements && tree-sitter generate --abi 14 --js-runtime native)"
fi
echo "ok: committed parser matches grammar.js"

(cd "$SCRATCH" && "$CLI" test) || fail "tree-sitter test"
echo "ok: corpus tests"
echo "PASS check-grammar"
