#!/bin/sh
# run.sh: `make bench`.  Runs every benchmark that exists: the C programs
# $PDS_BIN_DIR/tests/bench/bench_* (built by make when listed) and the Node
# ones tests/bench/bench_*.mjs, each printing its figures next to the
# reference PDS's (../shared/spec/official-libs-notes.md).  Loopback only,
# bounded in time.
set -e
here=$(cd "$(dirname "$0")" && pwd)
PATH="$here/../node_modules/node/bin:$PATH"
export PATH
: "${PDS_BIN_DIR:=$(cd "$here/../.." && pwd)}"
export PDS_BIN_DIR
rc=0
for b in "$PDS_BIN_DIR"/tests/bench/bench_*; do
	[ -f "$b" ] && [ -x "$b" ] || continue
	echo "== $(basename "$b")"
	"$b" || rc=1
done
for f in "$here"/bench_*.mjs; do
	[ -f "$f" ] || continue
	echo "== $(basename "$f")"
	node "$f" || rc=1
done
exit $rc
