#!/bin/sh
# run-fuzz-replay.sh: replays every kept input (tests/fuzz/corpus/<name>/
# and tests/fuzz/crashes/<name>/) through each fuzz target's entry point,
# built without libFuzzer (replay_<name>).  A crash fails the run.
here=$(cd "$(dirname "$0")" && pwd)
bad=0 n=0
for bin in "$@"; do
	name=$(basename "$bin" | sed 's/^replay_//')
	for d in "$here/fuzz/corpus/$name" "$here/fuzz/crashes/$name"; do
		[ -d "$d" ] || continue
		if ! "$bin" "$d"; then
			echo "fuzz replay: $name crashed on an input in $d"
			bad=1
		fi
		n=$((n + 1))
	done
done
echo "fuzz replay: $# targets, $n folders, $( [ $bad = 0 ] && echo ok || echo FAILED)"
exit $bad
