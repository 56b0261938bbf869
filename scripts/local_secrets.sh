#!/usr/bin/env bash
# The per-checkout secrets of `make run`: made once, kept outside git, reused ever after.
#
#   eval "$(scripts/local_secrets.sh)"
#
# creates .dualsync/secrets.env (mode 600; DUALSYNC_SECRETS_FILE to put it elsewhere) with a
# random administrator token and command-signing key when it does not exist yet, then prints
# `export NAME=value` for each secret that the environment does not set already: a variable
# set by the caller wins. The file is dotenv-shaped, so `docker compose --env-file` reads it too.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
FILE="${DUALSYNC_SECRETS_FILE:-$ROOT/.dualsync/secrets.env}"
NAMES=(DUALSYNC_ADMIN_TOKEN DUALSYNC_COMMAND_SIGNING_KEY)

# 32 random bytes, URL-safe base64 without padding (43 characters, 256 bits).
random_secret() {
    head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n'
}

if [[ ! -f "$FILE" ]]; then
    umask 077
    mkdir -p "$(dirname "$FILE")"
    tmp="$(mktemp "$FILE.XXXXXX")"
    {
        echo "# dualsync's secrets for this checkout (scripts/local_secrets.sh); never commit."
        for name in "${NAMES[@]}"; do
            echo "$name=$(random_secret)"
        done
    } >"$tmp"
    # Two `make run`s at once: the first file in place is the one both use.
    mv -n "$tmp" "$FILE"
    rm -f "$tmp"
    echo "dualsync: created $FILE (mode 600) with a new administrator token" >&2
fi

for name in "${NAMES[@]}"; do
    if [[ -n "${!name:-}" ]]; then
        continue  # set by the caller: theirs wins
    fi
    value="$(sed -n "s/^$name=//p" "$FILE" | head -n 1)"
    if [[ -z "$value" ]]; then
        # A file from before this secret existed: add it, keep the others.
        value="$(random_secret)"
        (umask 077 && echo "$name=$value" >>"$FILE")
    fi
    printf 'export %s=%q\n' "$name" "$value"
done
