# Sourced by the install scripts: has_version PROGRAM PREFIX tells whether
# `PROGRAM --version` prints PREFIX first. (No pipe into `grep -q`: under
# pipefail the program's SIGPIPE would read as a failure.)
has_version() {
  case "$("$1" --version 2>/dev/null)" in
    "$2"*) return 0 ;;
    *) return 1 ;;
  esac
}
