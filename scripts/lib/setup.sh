# Sourced by scripts that need tools beyond cargo: installs what is missing (saying what), or
# stops naming what it cannot install. Functions only; the caller decides what it needs.

missing() { echo "$(basename "$0"): $1 is missing and could not be installed: $2" >&2; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo -n "$@"; else return 1; fi; }

# cargo fuzz needs a nightly toolchain; scripts/fuzz installs cargo-fuzz itself.
need_nightly() {
  rustup run nightly rustc --version >/dev/null 2>&1 && return
  echo "installing: the nightly Rust toolchain (minimal profile), for cargo fuzz"
  rustup toolchain install nightly --profile minimal ||
    missing "the nightly Rust toolchain" "run: rustup toolchain install nightly --profile minimal"
}

# The browser tests and the dashboard benchmark drive Debian's Chromium (never a browser a tool
# downloads).
need_chromium() {
  [ -x /usr/bin/chromium ] || need_apt chromium chromium
}

# need_npm DIR...: each DIR's node_modules, installed from its package-lock.json when missing or
# older than the lock file (npm keeps a copy of the lock it installed from).
need_npm() {
  command -v node >/dev/null && command -v npm >/dev/null ||
    missing "Node.js and npm" "install Node.js 20 or newer (Debian: apt-get install nodejs npm)"
  local dir
  for dir in "$@"; do
    if [ ! -d "$dir/node_modules" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
      echo "installing: npm packages of $dir (npm ci, from its package-lock.json)"
      (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || missing "$dir/node_modules" "run: (cd $dir && npm ci)"
    fi
  done
}

# need_apt COMMAND PACKAGE: COMMAND, from Debian's PACKAGE when it is missing.
need_apt() {
  command -v "$1" >/dev/null && return
  echo "installing: Debian's $2 package, for $1"
  { as_root apt-get update -qq && DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "$2" >/dev/null; } ||
    missing "$1" "as root, run: apt-get install $2"
}
