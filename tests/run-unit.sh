#!/bin/sh
# run-unit.sh: runs each unit-test program, then prints the total as
# "unit: N passed, N failed".  Exit status is non-zero if any failed.
# Each program prints its own "name: N passed, N failed" line.
pass=0 fail=0 bad=0
for t in "$@"; do
	out=$("$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v '^FAIL' | tail -n 1
	printf '%s\n' "$out" | grep '^FAIL' | head -n 50
	line=$(printf '%s\n' "$out" | grep -E '^[a-z0-9_-]+: [0-9]+ passed, [0-9]+ failed$' | tail -n 1)
	p=$(printf '%s' "$line" | sed -E 's/.*: ([0-9]+) passed.*/\1/')
	f=$(printf '%s' "$line" | sed -E 's/.* ([0-9]+) failed/\1/')
	[ -n "$p" ] || { p=0; f=1; echo "$t: no summary line (exit $rc)"; }
	[ "$rc" -eq 0 ] || [ "$f" -gt 0 ] || { f=1; echo "$t: exit $rc"; }
	pass=$((pass + p)); fail=$((fail + f))
	[ "$f" -eq 0 ] || bad=1
done
echo "unit: $pass passed, $fail failed"
exit $bad
