#!/usr/bin/env bash
# The headless browser the ops page test drives: Debian's `chromium` and `chromium-driver`
# (/usr/bin/chromium, /usr/bin/chromedriver). Selenium is pointed at these two files, so it never
# downloads a browser of its own.
#
#   scripts/browser.sh          install them when missing (a quick no-op when both are there)
#   scripts/browser.sh status   say whether they are there
#
# Needs root (or sudo) to install. `apt-get update` runs only when the package lists are missing or
# too old to install from.
set -euo pipefail

BROWSER=/usr/bin/chromium
DRIVER=/usr/bin/chromedriver
PACKAGES=(chromium chromium-driver)

say() { printf '[browser] %s\n' "$*" >&2; }
die() { printf '[browser] error: %s\n' "$*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root for: $* (run as root or install sudo)"; fi
}

present() { [ -x "$BROWSER" ] && [ -x "$DRIVER" ]; }

apt_install() {
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    "${PACKAGES[@]}" >/dev/null
}

install() {
  command -v apt-get >/dev/null || die "no apt-get: install Chromium and its driver as $BROWSER and $DRIVER"
  say "installing Debian's ${PACKAGES[*]} (for the ops page test in headless Chromium)"
  # Lists that are missing (a fresh image) or stale (404 on download) make this fail: update, retry.
  if ! apt_install 2>/dev/null; then
    say "refreshing the package lists (apt-get update)"
    as_root apt-get update -qq >/dev/null
    apt_install
  fi
  present || die "installed ${PACKAGES[*]}, but $BROWSER or $DRIVER is still missing"
  say "ready: $("$BROWSER" --version 2>/dev/null || echo "$BROWSER")"
}

case "${1:-install}" in
  install) present || install ;;
  status)
    if present; then say "ready: $BROWSER and $DRIVER"; else say "missing: run scripts/browser.sh"; exit 1; fi
    ;;
  *) die "usage: scripts/browser.sh [install|status]" ;;
esac
