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

present() {
  [ -f "$SCRIPT" ] && grep -q "\"version\": \"$VERSION\"" "$DIR/node_modules/axe-core/package.json"
}

case "${1:-install}" in
  install)
    present && exit 0
    command -v npm >/dev/null || die "no npm: install Node.js (Debian: apt-get install npm)"
    say "installing axe-core $VERSION into $DIR"
    mkdir -p "$DIR"
    npm install --silent --no-audit --no-fund --no-save --no-package-lock \
      --prefix "$DIR" "axe-core@$VERSION" >/dev/null
    present || die "npm ran, but $SCRIPT (version $VERSION) is missing"
    ;;
  path) echo "$SCRIPT" ;;
  *) die "usage: scripts/axe.sh [install|path]" ;;
esac
