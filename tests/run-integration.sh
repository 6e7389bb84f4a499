#!/bin/sh
# run-integration.sh: runs the Node integration suites (tests/integration/
# *.test.mjs) with the project-local Node 22, against the real stack
# (nginx + pds-fcgi + pds-firehose + a local PLC directory; tests/lib/
# stack.mjs).  Binaries come from $PDS_BIN_DIR (the make O= directory).
#   run-integration.sh [NAME...]   only the suites whose file name contains
#                                  one of the NAMEs
# Suites run one at a time (2 cores are shared); each test file has 10
# minutes.  Node's test runner prints the closing "pass N / fail N" lines.
set -e
here=$(cd "$(dirname "$0")" && pwd)
node="$here/node_modules/node/bin/node"
if [ ! -x "$node" ]; then
	echo "integration: $node is missing; run tests/deps.sh (make deps)" >&2
	exit 1
fi
PATH="$here/node_modules/node/bin:$here/node_modules/.bin:$PATH"
: "${PDS_BIN_DIR:=$(cd "$here/.." && pwd)}"
export PATH PDS_BIN_DIR
files=""
for f in "$here"/integration/*.test.mjs; do
	[ -f "$f" ] || continue
	if [ $# -gt 0 ]; then
		keep=no
		for n in "$@"; do
			case "$(basename "$f")" in *"$n"*) keep=yes ;; esac
		done
		[ "$keep" = yes ] || continue
	fi
	files="$files $f"
done
if [ -z "$files" ]; then
	echo "integration: no suites${1:+ matching $*}"
	exit 0
fi
# shellcheck disable=SC2086
exec "$node" --test --test-concurrency=1 --test-timeout=600000 \
	--test-reporter=spec $files
