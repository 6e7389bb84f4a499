#!/bin/sh
# run-valgrind.sh: `make valgrind`.  Runs each unit-test program under
# valgrind's memcheck (STYLE.md 6.7) and prints
# "valgrind: N passed, N failed", counting programs.  A program fails when
# valgrind reports any error (invalid access, uninitialised use, bad free)
# or a definite or indirect leak, or when the test itself fails; its
# valgrind log is then printed.  Exit status is non-zero if any failed.
#
# Every test runs at full size (the slowest, test_password's scrypt,
# takes ~15 s under valgrind on 2 cores).  Library noise that is not ours
# is suppressed in tests/unit/valgrind.supp (each entry says why).
# Forked children are checked too (their logs are kept apart by pid);
# exec'd programs (sqlite3, rclone) are not traced.
# Needs a build without SANITIZE (ASan and valgrind do not mix).  Each
# program gets VALGRIND_TIMEOUT seconds (default 600) before it is failed.
here=$(cd "$(dirname "$0")" && pwd)
supp="$here/unit/valgrind.supp"
: "${VALGRIND:=valgrind}"
: "${VALGRIND_TIMEOUT:=600}"
command -v "$VALGRIND" >/dev/null 2>&1 || {
	echo "valgrind: $VALGRIND not found (apt-get install valgrind)"
	exit 1
}
logs=$(mktemp -d "${TMPDIR:-/tmp}/pds-valgrind.XXXXXX") || exit 1
trap 'rm -rf "$logs"' EXIT
pass=0 fail=0
for t in "$@"; do
	name=${t##*/}
	t0=$(date +%s)
	out=$(timeout -k 10 "$VALGRIND_TIMEOUT" "$VALGRIND" --quiet \
	    --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    --show-leak-kinds=definite,indirect --error-exitcode=99 \
	    --suppressions="$supp" --num-callers=30 \
	    --log-file="$logs/$name.%p.log" "$t" 2>&1)
	rc=$?
	dt=$(($(date +%s) - t0))
	why=""
	# rc 99: valgrind found errors in the test process itself; a
	# non-empty log (forked children included) also counts.
	for l in "$logs/$name".*.log; do
		[ -s "$l" ] && why="valgrind errors"
	done
	[ "$rc" -eq 99 ] && why="valgrind errors"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		why="timed out after ${VALGRIND_TIMEOUT}s"
	fi
	if [ -z "$why" ] && [ "$rc" -ne 0 ]; then
		why="test failed (exit $rc)"
	fi
	summary=$(printf '%s\n' "$out" |
	    grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	if [ -z "$why" ]; then
		pass=$((pass + 1))
		echo "ok     $name (${dt}s) ${summary:-}"
	else
		fail=$((fail + 1))
		echo "FAILED $name (${dt}s): $why ${summary:-}"
		printf '%s\n' "$out" | grep '^FAIL' | head -n 20
		for l in "$logs/$name".*.log; do
			[ -s "$l" ] || continue
			echo "--- $l"
			head -n 200 "$l"
		done
	fi
done
echo "valgrind: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
