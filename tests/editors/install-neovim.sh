#!/usr/bin/env bash
# Installs Neovim 0.10 for the Neovim plugin test (tests/tests/neovim.rs) into a
# cache folder outside the repository, without touching the system: Debian
# trixie's packages are downloaded through a private apt configuration, unpacked
# into a folder, and run through trixie's own glibc loader (bookworm's glibc is
# too old for them). Idempotent: a second run only prints the path.
#
# Prints the path of an `nvim` wrapper on its last line; export it as
# DIRECTOR_NVIM for the test:
#   export DIRECTOR_NVIM="$(tests/editors/install-neovim.sh | tail -n1)"
set -euo pipefail

tools="${DIRECTOR_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/director-tools}"
root="$tools/nvim10/root"
wrapper="$tools/nvim10/nvim"
version="0.10.4-8"

if [ -x "$wrapper" ] && "$wrapper" --version 2>/dev/null | head -n1 | grep -q '^NVIM v0\.10\.'; then
  echo "$wrapper"
  exit 0
fi

case "$(uname -m)" in
  x86_64) ;;
  *) echo "install-neovim.sh: only x86_64 is supported, not $(uname -m)" >&2; exit 1 ;;
esac

apt_dir="$tools/apt-trixie"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial" \
  "$apt_dir/etc/sources.list.d" "$apt_dir/etc/preferences.d"
echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main' \
  > "$apt_dir/etc/sources.list"
apt_options=(
  -o "Dir::Etc::SourceList=$apt_dir/etc/sources.list"
  -o "Dir::Etc::SourceParts=$apt_dir/etc/sources.list.d"
  -o "Dir::State::Lists=$apt_dir/lists"
  -o "Dir::Cache=$apt_dir/cache"
  -o "Dir::Etc::Preferences=$apt_dir/etc/preferences"
  -o "Dir::Etc::PreferencesParts=$apt_dir/etc/preferences.d"
)

echo "install-neovim.sh: downloading Neovim $version from Debian trixie into $tools" >&2
apt-get "${apt_options[@]}" update >&2

debs="$tools/nvim10/debs"
rm -rf "$debs" "$root"
mkdir -p "$debs" "$root"
(
  cd "$debs"
  apt-get "${apt_options[@]}" download \
    "neovim=$version" "neovim-runtime=$version" libc6 libluajit-5.1-2 libluajit-5.1-common \
    libmsgpack-c2 libtree-sitter0.22 libunibilium4 libuv1t64 libvterm0 lua-lpeg lua-luv libgcc-s1 >&2
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

"$wrapper" --version | head -n1 >&2
echo "$wrapper"
