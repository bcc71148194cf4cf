#!/usr/bin/env bash
# One big room against rooms of 50 (bench/README.md, "A big room").
#
#   bench/big_room.sh PORT ROOM_SIZE ROOM_OPTIONS_JSON
#   e.g. bench/big_room.sh 19201 1000 '{"capacity":1000,"size":16000}'
#        bench/big_room.sh 19202 50 '{"capacity":50,"size":3600}'
#
# Starts target/release/tickroom-server on 127.0.0.1:PORT (budgets lifted: every bot comes from
# 127.0.0.1), runs 1,000 light shooter bots in rooms of ROOM_SIZE for 20 s after a 5 s warm-up,
# reads /api/stats in the window, and prints the bots' figures and each room's tick work per
# tick and tick lateness. Stops the server it started, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
port=$1 size=$2 opts=$3
target/release/tickroom-server --bind 127.0.0.1:$port --static-dir /nonexistent --max-connections-per-ip 0 --max-seats-per-ip 0 --max-rooms-per-ip 0 --room-creates-per-minute 0 > target/big-room-srv.log 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null || true' EXIT
sleep 1
target/release/tickroom-bots --url ws://127.0.0.1:$port/ws --game shooter --clients 1000 --room-size $size --room-options "$opts" --measure-every 10 --warmup 5 --duration 20 > target/big-room-bots-$size.log 2>&1 &
bots=$!
sleep 18
python3 -c "import urllib.request, sys; sys.stdout.write(urllib.request.urlopen('http://127.0.0.1:$port/api/stats').read().decode())" \
  > target/big-room-stats-$size.json
wait $bots
grep -E "joined|bytes|input-to-ack|delta interval|bot cpu|WARNING|chain" target/big-room-bots-$size.log
python3 - "$size" <<'PY'
import json,sys
d=json.load(open(f"target/big-room-stats-{sys.argv[1]}.json"))
rooms=d["rooms"]
import statistics
print("rooms", len(rooms), "players", sum(r["players"] for r in rooms))
per=[r["work_us"]/max(1,r["ticks"]) for r in rooms]
print("tick work us per tick: median room %.0f, max room %.0f" % (sorted(per)[len(per)//2], max(per)))
print("lateness p99 us:", max(r["lateness_p99_us"] for r in rooms), "max over rooms; p50", statistics.median(r["lateness_p50_us"] for r in rooms))
print("last delta bytes (median room):", sorted(r["last_delta_bytes"] for r in rooms)[len(rooms)//2])
PY
