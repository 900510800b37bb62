#!/usr/bin/env bash
# Install the Debian packages (and the npm packages of web/) that Aegis needs to build, test and run.
# Idempotent: a package already present is skipped, and `apt-get update` runs only when something is missing.
# Works as root or through sudo. Usage: scripts/install-deps.sh [--no-npm]
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

# Build and runtime libraries, test tools, benchmark tools.
pkgs=(
  build-essential cmake pkg-config git ca-certificates
  libmicrohttpd-dev libjansson-dev libsqlite3-dev sqlite3 libssl-dev
  libcurl4-openssl-dev libcmocka-dev libargon2-dev libyaml-dev librandom123-dev libglpk-dev libpcre2-dev
  wrk
)
# Node.js and npm: any packaging that provides both commands will do (Debian's nodejs+npm, or a nodejs
# build that bundles npm; the two Debian packages conflict with the bundled one).
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  pkgs+=(nodejs npm)
fi

if [ "$(id -u)" -eq 0 ]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1; then
  as_root=(sudo)
else
  echo "install-deps: not root and no sudo; install these by hand: ${pkgs[*]}" >&2
  exit 1
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Front-end packages (the API reference page's assets). npm ci only when the lock file changed;
# --ignore-scripts: we need their files only, and a postinstall (swagger-ui-dist pulls in a telemetry
# package) must not try the network.
if [ "${1:-}" != "--no-npm" ] && [ -f "$here/web/package-lock.json" ]; then
  stamp="$here/web/node_modules/.aegis-lock-stamp"
  if [ ! -f "$stamp" ] || ! cmp -s "$here/web/package-lock.json" "$stamp"; then
    echo "install-deps: npm ci in web/"
    (cd "$here/web" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    cp "$here/web/package-lock.json" "$stamp"
  fi
fi
