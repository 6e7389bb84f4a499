#!/bin/sh
# deps.sh: installs what building, running and testing need, if missing.
#   Debian packages: with apt-get when root, otherwise prints the command.
#   Node test peers: Node 22 (npm package "node") and the official atproto
#   libraries, pinned by tests/package-lock.json, into tests/node_modules.
# Idempotent and quick when everything is present.
set -e
here=$(cd "$(dirname "$0")" && pwd)
# Build: compilers and libraries.  Run and test: the three web servers the
# conf/ files are checked against, spawn-fcgi, openssl (test certificates),
# systemd (systemd-analyze verify on the units), wrk (make bench), curl and
# jq (the README's account commands), rclone (pds-backup).  nodejs/npm only
# bootstrap `npm ci`; the tests run on the Node 22 it installs.
PKGS="build-essential pkg-config clang libfcgi-dev spawn-fcgi libsqlite3-dev
sqlite3 libsecp256k1-dev libssl-dev libjansson-dev libcurl4-openssl-dev nginx
caddy lighttpd rclone curl jq ca-certificates openssl systemd wrk valgrind nodejs npm"

missing=""
for p in $PKGS; do
	case "$p" in
	nodejs|npm) command -v npm >/dev/null 2>&1 && continue ;;
	esac
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing="$missing $p"
done
if [ -n "$missing" ]; then
	cmd="apt-get install -y --no-install-recommends$missing"
	if [ "$(id -u)" = 0 ]; then
		echo "deps: installing:$missing"
		export DEBIAN_FRONTEND=noninteractive
		apt-get update -qq
		# shellcheck disable=SC2086
		apt-get install -y -qq --no-install-recommends $missing
	else
		echo "deps: missing Debian packages; run as root:"
		echo "  sudo $cmd"
		exit 1
	fi
fi

# Node peers: reinstall only when the lock changed.
stamp="$here/node_modules/.package-lock.json"
if [ ! -x "$here/node_modules/node/bin/node" ] || [ ! -f "$stamp" ] ||
    [ "$here/package-lock.json" -nt "$stamp" ]; then
	echo "deps: installing Node test peers (tests/package-lock.json)"
	# One retry: a registry hiccup should not fail a whole CI run.
	(cd "$here" && { npm ci --no-audit --no-fund --loglevel=error ||
	    { sleep 5; npm ci --no-audit --no-fund --loglevel=error; }; })
fi
"$here/node_modules/node/bin/node" --version >/dev/null
