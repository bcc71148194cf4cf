#!/usr/bin/env bash
# make soak: SOAK_CLIENTS arena bots (quick match) for SOAK_SECONDS against a fresh release server
# on 127.0.0.1, sampling the server's RSS and open file descriptors every 10 s, then checking every
# replica against a keyframe of the server's state. Prints the samples and the growth; exits
# non-zero if the bots' replica check fails. Everything it starts it stops, by PID.
set -euo pipefail
clients=${SOAK_CLIENTS:-490}
seconds=${SOAK_SECONDS:-600}
port=${SOAK_PORT:-18099}
out=${SOAK_OUT:-bench/results/soak.json}
mkdir -p "$(dirname "$out")"

target/release/tickroom-server --bind "127.0.0.1:$port" --static-dir /nonexistent \
  --max-connections-per-ip 0 --max-seats-per-ip 0 --max-rooms-per-ip 0 \
  --room-creates-per-minute 0 >/dev/null 2>&1 &
server=$!
bots=""
cleanup() {
  [ -n "$bots" ] && kill "$bots" 2>/dev/null || true
  kill "$server" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 100); do
  curl -fs "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done

target/release/tickroom-bots --url "ws://127.0.0.1:$port/ws" --game arena --clients "$clients" \
  --duration "$seconds" --verify --json "$out" &
bots=$!

sample() {
  local rss fds
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$server/status")
  fds=$(ls "/proc/$server/fd" | wc -l)
  echo "$1 $rss $fds"
}
echo "soak: $clients clients for $seconds s; server pid $server"
echo "elapsed_s rss_kib open_fds"
samples=()
start=$(date +%s)
while kill -0 "$bots" 2>/dev/null; do
  line=$(sample $(( $(date +%s) - start )))
  echo "$line"
  samples+=("$line")
  sleep 10
done
status=0
wait "$bots" || status=$?
bots=""
first=${samples[1]:-${samples[0]}}   # skip the sample taken while the bots were still joining
last=${samples[${#samples[@]}-1]}
read -r _ rss0 fds0 <<<"$first"
read -r _ rss1 fds1 <<<"$last"
echo "soak: RSS ${rss0} -> ${rss1} KiB ($(( rss1 - rss0 )) KiB), open fds ${fds0} -> ${fds1}"
echo "soak: bots report in $out (replica check exit status $status)"
exit "$status"
