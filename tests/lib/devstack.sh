#!/bin/sh
# devstack.sh: the dev stack from the shell.
#   devstack.sh run    start a local PDS in the foreground (`make run`):
#                      tests/lib/run.mjs with the project's Node 22.
# Honours PDS_PORT, PDS_DATA_DIRECTORY, PDS_ENV_FILE, PDS_DID_PLC_URL and
# any PDS_* setting; PDS_BIN_DIR names the build directory (make O=).
set -e
here=$(cd "$(dirname "$0")" && pwd)
node="$here/../node_modules/node/bin/node"
if [ ! -x "$node" ]; then
	echo "devstack: $node is missing; run tests/deps.sh (make deps)" >&2
	exit 1
fi
case "${1:-}" in
run)
	shift
	exec "$node" "$here/run.mjs" "$@"
	;;
*)
	echo "usage: $0 run" >&2
	exit 2
	;;
esac
