#!/bin/sh
# run.sh: `make bench`.  One report, each figure beside the reference
# PDS's or the official npm library's where one exists (the reference's
# measured figures: ../shared/spec/official-libs-notes.md):
#   (a) DAG-CBOR MB/s: tool_cbor bench (C) and bench_cbor.mjs (@ipld/dag-cbor,
#       @atproto/lex-cbor), same corpus, joined into one table here
#   (b) sign/verify ops/s, ES256K ES256 HS256: bench_crypto.mjs (C vs
#       @atproto/crypto, @atproto/xrpc-server)
#   (c) createRecord/s, getRecord/s, getRepo MB/s through nginx: bench_repo.mjs
#   (d) firehose replay events/s, live fan-out latency: bench_firehose.mjs
#   (e) _health req/s, idle RSS, time to healthy: bench_http.mjs
#   (f) proxy's added time per request: bench_proxy.mjs
# then any other tests/bench/bench_*.mjs and $PDS_BIN_DIR/tests/bench/bench_*
# program.  Durations are short so the whole run stays within a few
# minutes on 2 shared cores; the knobs below lengthen them.  Each section
# has a time limit (BENCH_TIMEOUT seconds); a section that fails, times
# out or is missing is reported as FAILED and makes the exit status 1.
# Loopback only.
#
#   BENCH_SECONDS=3        seconds per HTTP figure (repo, http)
#   BENCH_CRYPTO_SECONDS=1 seconds per crypto operation, each side
#   BENCH_CBOR_RECORDS=2000 BENCH_CBOR_MS=500   corpus size, CPU ms per op
#   BENCH_REPO_RECORDS=5000   records in the getRepo repository
#   BENCH_LIVE_EVENTS=200     events per live fan-out run (at 100/s)
#   BENCH_PROXY_REQUESTS=500  sequential proxied requests per path
#   BENCH_TIMEOUT=180         per-section limit, seconds
set -u
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cd "$root" || exit 1
PATH="$root/tests/node_modules/node/bin:$PATH"
: "${PDS_BIN_DIR:=$root}"
: "${BENCH_SECONDS:=3}"
: "${BENCH_CRYPTO_SECONDS:=1}"
: "${BENCH_CBOR_RECORDS:=2000}"
: "${BENCH_CBOR_MS:=500}"
: "${BENCH_REPO_RECORDS:=5000}"
: "${BENCH_LIVE_EVENTS:=200}"
: "${BENCH_PROXY_REQUESTS:=500}"
: "${BENCH_TIMEOUT:=180}"
# Stop benchmarks cleanly on the time limit; hide the node:sqlite notice.
NODE_OPTIONS="--import=$here/exit-on-signal.mjs"
NODE_OPTIONS="$NODE_OPTIONS --disable-warning=ExperimentalWarning"
export PATH PDS_BIN_DIR BENCH_SECONDS BENCH_REPO_RECORDS BENCH_LIVE_EVENTS \
    BENCH_PROXY_REQUESTS NODE_OPTIONS

exec 3>&1	# command lines go to the report even when output is captured
tmp=$(mktemp -d "${TMPDIR:-/tmp}/pds-bench.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT
npass=0 nfail=0 summary="" sec_t0=0 sec_rc=0

sec_begin() {	# id title
	printf '\n== (%s) %s\n' "$1" "$2"
	sec_id=$1 sec_title=$2 sec_rc=0 sec_t0=$(date +%s)
}

sec_end() {	# records the section's result in the summary
	dt=$(($(date +%s) - sec_t0))
	if [ "$sec_rc" -eq 0 ]; then
		st="ok"; npass=$((npass + 1))
	else
		st="FAILED ($sec_why)"; nfail=$((nfail + 1))
		printf -- '-- (%s) FAILED: %s\n' "$sec_id" "$sec_why"
	fi
	summary="$summary$(printf '  (%s) %-44s %4ss  %s' "$sec_id" \
	    "$sec_title" "$dt" "$st")
"
}

# Runs one command under the time limit (its stderr joins its stdout),
# echoing its command line first to the report;
# sets sec_rc and sec_why.
run() {
	printf '$ %s\n' "$*" >&3
	timeout -k 10 "$BENCH_TIMEOUT" "$@" 2>&1
	r=$?
	if [ "$r" -eq 124 ] || [ "$r" -eq 137 ]; then
		sec_rc=1 sec_why="timed out after ${BENCH_TIMEOUT}s"
	elif [ "$r" -ne 0 ]; then
		sec_rc=1 sec_why="exit $r"
	fi
}

need() {	# file: fails the section when a benchmark file is missing
	[ -e "$1" ] && return 0
	sec_rc=1 sec_why="$1 missing"
	return 1
}

# (a) the two DAG-CBOR runs side by side.  Both sides build the same
# corpus (the corpus line, with the last record's CID, must be identical)
# and measure per CPU second of their own process.
cbor_section() {
	tool="$PDS_BIN_DIR/tests/lib/tool_cbor"
	need "$tool" && need tests/bench/bench_cbor.mjs || return
	run "$tool" bench "$BENCH_CBOR_RECORDS" "$BENCH_CBOR_MS" >"$tmp/c.out"
	[ "$sec_rc" -eq 0 ] || { cat "$tmp/c.out"; return; }
	run node tests/bench/bench_cbor.mjs "$BENCH_CBOR_RECORDS" \
	    "$BENCH_CBOR_MS" >"$tmp/js.out"
	[ "$sec_rc" -eq 0 ] || { cat "$tmp/js.out"; return; }
	cc=$(grep '^corpus:' "$tmp/c.out") jc=$(grep '^corpus:' "$tmp/js.out")
	if [ -z "$cc" ] || [ "$cc" != "$jc" ]; then
		printf 'C:  %s\nJS: %s\n' "$cc" "$jc"
		sec_rc=1 sec_why="the two corpora differ"
		return
	fi
	echo "$cc (identical on both sides)"
	echo "rates per CPU second of each process; ${BENCH_CBOR_MS} ms CPU" \
	    "per operation"
	awk '
	function name(  i, s) {		# fields between the tag and the rates
		s = $2
		for (i = 3; i <= NF - 4; i++)
			s = s " " $i
		return s
	}
	FNR == NR && $1 == "C" { n++; op[n] = name(); cm[n] = $(NF - 3)
		cr[n] = $(NF - 1); next }
	FNR != NR && $1 == "JS" { jm[name()] = $(NF - 3); jr[name()] = $(NF - 1) }
	END {
		js["decode"] = "@ipld/dag-cbor decode|@atproto/lex-cbor decode"
		js["encode"] = "@ipld/dag-cbor encode|@atproto/lex-cbor encode"
		js["encode + CID"] = "lex-cbor encode + CID"
		js["JSON text -> CBOR"] = "JSON text -> CBOR (lex)"
		js["CBOR -> JSON text"] = "CBOR -> JSON text (lex)"
		f = "  %-18s %8s %11s   %-26s %8s %11s %7s\n"
		printf f, "operation", "C MB/s", "records/s", \
		    "official library (Node)", "MB/s", "records/s", "C/JS"
		for (i = 1; i <= n; i++) {
			k = split(js[op[i]], l, "|")
			if (k == 0)
				printf "  %-18s %8s %11s   (no counterpart)\n", \
				    op[i], cm[i], cr[i]
			for (j = 1; j <= k; j++) {
				r = (l[j] in jm && jm[l[j]] > 0) ? \
				    sprintf("%.1fx", cm[i] / jm[l[j]]) : "-"
				printf f, j == 1 ? op[i] : "", j == 1 ? cm[i] : "", \
				    j == 1 ? cr[i] : "", l[j], jm[l[j]], jr[l[j]], r
			}
		}
	}' "$tmp/c.out" "$tmp/js.out"
}

node_section() {	# id title file [args...]: one Node benchmark
	id=$1 title=$2 f=$3
	shift 3
	sec_begin "$id" "$title"
	need "$f" && run node "$f" "$@"
	sec_end
}

t_start=$(date +%s)
echo "make bench: $(date -u +%Y-%m-%dT%H:%M:%SZ), $(uname -sm)," \
    "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)," \
    "node $(node --version 2>/dev/null || echo missing)"
echo "programs from PDS_BIN_DIR=$PDS_BIN_DIR; reference figures from" \
    "../shared/spec/official-libs-notes.md"
echo "short runs: BENCH_SECONDS=$BENCH_SECONDS" \
    "BENCH_CRYPTO_SECONDS=$BENCH_CRYPTO_SECONDS BENCH_CBOR_MS=$BENCH_CBOR_MS" \
    "BENCH_REPO_RECORDS=$BENCH_REPO_RECORDS" \
    "BENCH_LIVE_EVENTS=$BENCH_LIVE_EVENTS" \
    "BENCH_PROXY_REQUESTS=$BENCH_PROXY_REQUESTS (figures on a shared" \
    "machine vary by tens of percent)"
echo "NODE_OPTIONS=$NODE_OPTIONS"

sec_begin a "DAG-CBOR encode/decode, C vs official npm"
cbor_section
sec_end

node_section b "sign/verify ops/s, C vs @atproto/crypto" \
    tests/bench/bench_crypto.mjs --seconds "$BENCH_CRYPTO_SECONDS"
node_section c "repository XRPC through nginx" tests/bench/bench_repo.mjs
node_section d "firehose replay and live fan-out" \
    tests/bench/bench_firehose.mjs
node_section e "_health, idle RSS, time to healthy" \
    tests/bench/bench_http.mjs
node_section f "proxy: time added per proxied request" \
    tests/bench/bench_proxy.mjs

# Benchmarks added later are run too, each as its own section.
for f in tests/bench/bench_*.mjs; do
	[ -f "$f" ] || continue
	case "${f##*/}" in
	bench_cbor.mjs|bench_crypto.mjs|bench_repo.mjs|bench_firehose.mjs|\
	bench_http.mjs|bench_proxy.mjs) continue ;;
	esac
	node_section + "${f##*/}" "$f"
done
for b in "$PDS_BIN_DIR"/tests/bench/bench_*; do
	if [ ! -f "$b" ] || [ ! -x "$b" ]; then
		continue
	fi
	sec_begin + "${b##*/}"
	run "$b"
	sec_end
done

printf '\n== summary (%ss in all)\n%s' "$(($(date +%s) - t_start))" \
    "$summary"
echo "bench: $npass passed, $nfail failed"
[ "$nfail" -eq 0 ]
