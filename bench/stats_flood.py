#!/usr/bin/env python3
"""What a flood of `/api/stats` requests costs the server, with many rooms open.

    bench/stats_flood.py [--rooms 1000] [--rate 1000] [--seconds 10] [--api-cache 1]

Starts target/release/tickroom-server on a free loopback port (budgets lifted: every client
comes from 127.0.0.1; empty rooms kept for 10 minutes), opens ROOMS rooms (one short connection
each: create, then leave), then requests /api/stats at RATE per second for SECONDS from 4
keep-alive connections, and reports the server's CPU time during the flood (from /proc), the
requests served and the body renders the server counted (`tickroom_api_rebuilds_total`). Run it
with `--api-cache 0` to see the cost of rendering on every request. Only 127.0.0.1; stops the
server it started, by PID.
"""
import argparse
import http.client
import os
import signal
import subprocess
import threading
import time
import urllib.request

from loopback import frame, start_server, upgrade

JOIN_CREATE = bytes.fromhex("99 00 02 a1 78 c0 c0 c3 c0 c0 c0")  # [0, 2, "x", nil, nil, true, ...]
LEAVE = bytes.fromhex("91 04")  # [4]


def create_room(port):
    s = upgrade(port)
    s.sendall(frame(0x2, JOIN_CREATE))
    # Wait for the server's first bytes (the welcome), then leave.
    s.recv(4096)
    s.sendall(frame(0x2, LEAVE))
    s.close()


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def metric(port, name):
    body = urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5).read().decode()
    total = 0.0
    for line in body.splitlines():
        if line.startswith(name):
            total += float(line.split()[-1])
    return total


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rooms", type=int, default=1000)
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--api-cache", default="1")
    ap.add_argument("--bin", default="target/release/tickroom-server")
    args = ap.parse_args()
    flags = [
        "--max-seats-per-ip", "0", "--max-rooms-per-ip", "0",
        "--room-creates-per-minute", "0", "--max-connections-per-ip", "0",
        "--empty-room-grace", "600", "--max-rooms", str(args.rooms + 10),
        "--api-cache", args.api_cache,
    ]
    server, port = start_server(args.bin, flags)
    try:
        for _ in range(args.rooms):
            create_room(port)
        time.sleep(2)
        idle_before = cpu_seconds(server.pid)
        time.sleep(args.seconds)
        idle_cpu = cpu_seconds(server.pid) - idle_before
        renders_before = metric(port, 'tickroom_api_rebuilds_total{endpoint="stats"}')
        served = [0]
        lock = threading.Lock()
        stop_at = time.time() + args.seconds
        per_thread = args.rate / 4

        def flood():
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            n = 0
            start = time.time()
            while time.time() < stop_at:
                conn.request("GET", "/api/stats")
                conn.getresponse().read()
                n += 1
                ahead = n / per_thread - (time.time() - start)
                if ahead > 0:
                    time.sleep(ahead)
            with lock:
                served[0] += n

        cpu_before = cpu_seconds(server.pid)
        threads = [threading.Thread(target=flood) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        flood_cpu = cpu_seconds(server.pid) - cpu_before
        renders = metric(port, 'tickroom_api_rebuilds_total{endpoint="stats"}') - renders_before
        print(
            f"rooms {args.rooms}, api-cache {args.api_cache} s: idle server {idle_cpu / args.seconds:.3f} cores; "
            f"during {served[0]} /api/stats requests in {args.seconds} s "
            f"({served[0] / args.seconds:.0f}/s): {flood_cpu / args.seconds:.3f} cores, "
            f"{renders:.0f} renders"
        )
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
