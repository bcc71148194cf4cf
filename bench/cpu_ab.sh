#!/usr/bin/env bash
# Server CPU and context switches under the arena load, for comparing two builds run alternately
# in one sitting (single benchmark runs vary by 10-20 % on a shared 2-core machine).
#
#   bench/cpu_ab.sh SERVER BOTS PORT [BOT FLAGS...]
#   e.g. bench/cpu_ab.sh target/release/tickroom-server target/release/tickroom-bots 18600 --decode acks
#
# Starts SERVER on 127.0.0.1:PORT, drives CLIENTS (default 500) bots for 20 s, and reads the
# server's CPU (clock ticks per second from /proc/PID/stat; 100 = one core) and its context
# switches (summed over its threads) over a 10 s window in the middle. Stops what it started.
set -euo pipefail
server=$1 bots=$2 port=$3
shift 3
clients=${CLIENTS:-500}
"$server" --bind "127.0.0.1:$port" --static-dir /nonexistent \
  --max-connections-per-ip 0 --max-seats-per-ip 0 --max-rooms-per-ip 0 --room-creates-per-minute 0 \
  >/dev/null 2>&1 &
srv=$!
trap 'kill "$srv" 2>/dev/null || true' EXIT
sleep 1
"$bots" --url "ws://127.0.0.1:$port/ws" --clients "$clients" --warmup 3 --duration 16 "$@" \
  >/dev/null 2>&1 &
bots_pid=$!
sleep 8
switches() { cat /proc/"$srv"/task/*/status | awk '/ctxt_switches/ { s += $2 } END { print s }'; }
cpu() { awk '{ print $14 + $15 }' /proc/"$srv"/stat; }
c1=$(switches) t1=$(cpu)
sleep 10
c2=$(switches) t2=$(cpu)
echo "server cpu ticks/s: $(((t2 - t1) / 10))  context switches/s: $(((c2 - c1) / 10))"
wait "$bots_pid"
