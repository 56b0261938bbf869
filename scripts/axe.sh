#!/usr/bin/env bash
# axe-core, the accessibility checker the browser tests inject into each page
# (tests/portal_web/browser.py `assert_accessible`), from the npm registry at a pinned version,
# into build/axe (git-ignored). A quick no-op when that version is there already.
#
#   scripts/axe.sh          install it when missing
#   scripts/axe.sh path     print where axe.min.js is
set -euo pipefail

VERSION=4.14.1
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/build/axe"
SCRIPT="$DIR/node_modules/axe-core/axe.min.js"

say() { printf '[axe] %s\n' "$*" >&2; }
die() { printf '[axe] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $* (run as root or install sudo)"; fi
}

ensure_npm() {
  command -v npm >/dev/null && return 0
  command -v apt-get >/dev/null || die "no npm: install Node.js and npm"
  say "installing Debian's npm (to fetch axe-core from the npm registry)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null 2>&1; then
    as_root apt-get update -qq >/dev/null
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null
  fi
}

present() {
  [ -f "$SCRIPT" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/axe-core/package.json"
}

case "${1:-install}" in
  install)
    present && exit 0
    ensure_npm
    say "installing axe-core $VERSION into $DIR"
    mkdir -p "$DIR"
    npm install --silent --no-audit --no-fund --no-save --no-package-lock \
      --prefix "$DIR" "axe-core@$VERSION" >/dev/null
    present || die "npm ran, but $SCRIPT (version $VERSION) is missing"
    ;;
  path) echo "$SCRIPT" ;;
  *) die "usage: scripts/axe.sh [install|path]" ;;
esac
