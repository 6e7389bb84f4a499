#!/bin/sh
# run-integration.sh: runs the Node integration suites (tests/integration/
# *.test.mjs) with the project-local Node 22, against the real stack
# (nginx + pds-fcgi + pds-firehose + a local PLC directory).
set -e
here=$(cd "$(dirname "$0")" && pwd)
PATH="$here/node_modules/node/bin:$here/node_modules/.bin:$PATH"
export PATH
files=$(ls "$here"/integration/*.test.mjs 2>/dev/null || true)
if [ -z "$files" ]; then
	echo "integration: no suites yet"
	exit 0
fi
exec node --test --test-concurrency=1 $files
