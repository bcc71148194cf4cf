#!/usr/bin/env bash
# `make autobahn`: the Autobahn|Testsuite against tickroom's WebSocket code.
#
# Starts the release server with the conformance echo endpoint (`--echo-endpoint`, the same
# session code as game connections) on a free loopback port, runs ../shared/autobahn/run.sh
# against ws://127.0.0.1:PORT/echo, prints its table, and stops the server it started (by PID).
# The suite needs ../shared/autobahn/setup.sh once per machine (as root). Results land in
# target/autobahn/tickroom/ (summary.json, index.json, wstest.log).
#
# Limits that protect game servers are raised for the suite where they are not what it tests:
# the message rate (the suite sends thousands of frames per second) and the subprotocol (it
# offers none). The message size limit stays at its default (64 KiB), so the 9.x cases above it
# are closed with 1009 by design.
set -euo pipefail
cd "$(dirname "$0")/.."
AUTOBAHN="${AUTOBAHN_DIR:-../shared/autobahn}"
BIN=target/release/tickroom-server
[[ -x "$AUTOBAHN/run.sh" ]] || { echo "autobahn: $AUTOBAHN/run.sh not found" >&2; exit 1; }
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$BIN" --bind "127.0.0.1:$PORT" --echo-endpoint true --require-subprotocol false \
  --max-messages-per-sec 1000000 --message-burst 1000000 > target/autobahn-server.log 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 1 100); do
  python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$PORT/healthz', timeout=1)" \
    2>/dev/null && break
  sleep 0.1
done
"$AUTOBAHN/run.sh" "ws://127.0.0.1:$PORT/echo" tickroom
