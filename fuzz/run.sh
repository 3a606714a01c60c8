#!/usr/bin/env bash
# Fuzzes the LSP frame reader for SECONDS seconds (default 60) of fuzzing, after
# the build. Installs the pinned cargo-fuzz into ${DIRECTOR_TOOLS:-~/.cache/director-tools}
# when missing. Only a stable toolchain is needed: RUSTC_BOOTSTRAP lets it take the
# nightly flags cargo-fuzz passes. Exits non-zero when the target finds a failure
# (its input is kept under fuzz/artifacts/).
set -euo pipefail

seconds="${1:-60}"
cargo_fuzz_version="0.13.2"
fuzz_dir="$(cd "$(dirname "$0")" && pwd)"
tools="${DIRECTOR_TOOLS:-$HOME/.cache/director-tools}"
cargo_fuzz_root="$tools/cargo-fuzz"

installed_version() {
    "$cargo_fuzz_root/bin/cargo-fuzz" --version 2>/dev/null || true
}

if [[ "$(installed_version)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
    cargo install cargo-fuzz --version "$cargo_fuzz_version" --locked --root "$cargo_fuzz_root"
    if [[ "$(installed_version)" != "cargo-fuzz $cargo_fuzz_version" ]]; then
        echo "error: cargo-fuzz $cargo_fuzz_version is not in $cargo_fuzz_root/bin after installing it" >&2
        exit 1
    fi
fi

export PATH="$cargo_fuzz_root/bin:$PATH"
export RUSTC_BOOTSTRAP=1
cd "$fuzz_dir/.."
mkdir -p "$fuzz_dir/corpus/frame_reader"
# New inputs go to corpus/ (ignored by git); seeds/ holds the reviewed cases.
cargo fuzz run frame_reader --fuzz-dir "$fuzz_dir" \
    "$fuzz_dir/corpus/frame_reader" "$fuzz_dir/seeds/frame_reader" \
    -- -max_total_time="$seconds" -timeout=10
