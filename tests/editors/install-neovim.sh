#!/usr/bin/env bash
# Installs Neovim 0.10 or newer for the Neovim plugin test (tests/tests/neovim.rs)
# into a cache folder outside the repository, without touching the system: Debian
# trixie's packages are downloaded through a private apt configuration, unpacked
# into a folder, and run through trixie's own glibc loader (bookworm's glibc is
# too old for them). No Debian revision is pinned (trixie replaces them with
# security updates and withdraws the old ones); what arrived is checked instead.
# Idempotent: a second run only checks and prints. `cargo xtask setup` runs it.
#
# Prints `export DIRECTOR_NVIM=…` (the path of an `nvim` wrapper) on stdout;
# everything else goes to stderr.
set -euo pipefail

tools="${DIRECTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/director-tools}"
root="$tools/nvim10/root"
wrapper="$tools/nvim10/nvim"

# True when the wrapper runs a Neovim of 0.10 or newer.
fits() {
  [[ "$("$wrapper" --version 2>/dev/null)" =~ ^NVIM\ v(0\.(1[0-9]|[2-9][0-9])|[1-9][0-9]*\.[0-9]+)\. ]]
}

if [ -x "$wrapper" ] && fits; then
  echo "export DIRECTOR_NVIM=$wrapper"
  exit 0
fi

case "$(uname -m)" in
  x86_64) ;;
  *) echo "install-neovim.sh: only x86_64 is supported, not $(uname -m)" >&2; exit 1 ;;
esac

apt_dir="$tools/apt-trixie"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
  "$apt_dir/etc/sources.list.d" "$apt_dir/etc/preferences.d"
# The Debian mirror this machine's own apt uses, for trixie instead of its suite.
mirror=$( { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.sources \
  /etc/apt/sources.list.d/*.list 2>/dev/null || true; } \
  | grep -v '^[[:space:]]*#' | grep -oE '[a-z]+://[^[:space:]]+/debian' | head -n1 || true)
if [ -z "$mirror" ]; then
  echo "install-neovim.sh: found no Debian mirror in /etc/apt/sources.list*" >&2
  exit 1
fi
echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $mirror trixie main" \
  > "$apt_dir/etc/sources.list"
apt_options=(
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
)

echo "install-neovim.sh: downloading Neovim from Debian trixie into $tools" >&2
apt-get "${apt_options[@]}" update >&2

debs="$tools/nvim10/debs"
rm -rf "$debs" "$root"
mkdir -p "$debs" "$root"
# neovim and what it depends on in trixie, worked out now rather than listed here,
# so that a renamed library in a later revision still arrives.
packages=$(apt-cache "${apt_options[@]}" depends --recurse --no-recommends --no-suggests \
  --no-conflicts --no-breaks --no-replaces --no-enhances --no-pre-depends neovim \
  | grep '^[a-z0-9]' | sort -u)
(
  cd "$debs"
  # shellcheck disable=SC2086 # one package name a word
  apt-get "${apt_options[@]}" download $packages >&2
)
for deb in "$debs"/*.deb; do
  dpkg -x "$deb" "$root"
done

# --library-path (unlike LD_LIBRARY_PATH) does not pass on to the processes nvim
# starts, so the language server it spawns runs on the system's own libraries.
cat > "$wrapper" <<WRAPPER
#!/bin/sh
export VIMRUNTIME="$root/usr/share/nvim/runtime"
exec "$root/usr/lib64/ld-linux-x86-64.so.2" --library-path "$root/usr/lib/x86_64-linux-gnu" "$root/usr/bin/nvim" "\$@"
WRAPPER
chmod +x "$wrapper"

if ! fits; then
  echo "install-neovim.sh: Debian trixie's neovim is not 0.10 or newer, or does not run:" >&2
  "$wrapper" --version 2>&1 | head -n3 >&2
  exit 1
fi
"$wrapper" --version | head -n1 >&2
echo "export DIRECTOR_NVIM=$wrapper"
