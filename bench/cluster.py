#!/usr/bin/env python3
"""The cluster benchmark (`make bench-cluster`): join latency through one node of a 3-node cluster
against a single node, Redis round trips per join, and the share of joins redirected.

Starts a redis-server (Debian's package) on a free loopback port, then, in turn:
  1. one release `tickroom-server` (no Redis) and CLIENTS arena bots quick-matching through it;
  2. three nodes sharing the Redis, and the same bots quick-matching through node a only.
Each bot's first join is timed from connect until its join snapshot applied, redirects included
(the bots' `join` row). Redis round trips are the commands Redis served during the cluster run
(`INFO commandstats`), minus the upkeep the nodes make without joins (leases, sweeps: measured
for a few seconds before the bots start), divided by the joins. Prints a table and writes
bench/results/cluster-<date>-<commit>.json. Only 127.0.0.1; stops everything it started by PID.

    bench/cluster.py [--clients 600] [--ramp 100]
"""
import argparse
import datetime
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from loopback import start_server  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "target/release/tickroom-server")
BOTS = os.path.join(ROOT, "target/release/tickroom-bots")
# Every bot comes from 127.0.0.1: lift the per-address budgets.
OPEN = ["--max-connections-per-ip", "0", "--max-seats-per-ip", "0", "--max-rooms-per-ip", "0",
        "--room-creates-per-minute", "0"]


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def redis_calls(port):
    """(round trips, commands) Redis has served so far, from INFO commandstats: a round trip is
    a command a client sent (every directory operation is one EVALSHA, plus a SCRIPT LOAD or
    EVAL the first time a node runs a script); commands also count those run inside scripts."""
    out = subprocess.run(["redis-cli", "-p", str(port), "INFO", "commandstats"],
                         capture_output=True, text=True, check=True).stdout
    trips = commands = 0
    for line in out.splitlines():
        if line.startswith("cmdstat_") and "calls=" in line:
            name = line.split(":")[0][len("cmdstat_"):]
            calls = int(line.split("calls=")[1].split(",")[0])
            commands += calls
            if name in ("evalsha", "eval", "script|load", "ping"):
                trips += calls
    return trips, commands


def bots_start(url, clients, ramp, out):
    """Starts the bots (quick match, arena) for a short window, writing their JSON report."""
    return subprocess.Popen([BOTS, "--url", url, "--clients", str(clients), "--game", "arena",
                             "--ramp", str(ramp), "--warmup", "2", "--duration", "5",
                             "--measure-every", "10", "--json", out],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def bots(url, clients, ramp, out):
    """Runs the bots to the end; returns their JSON report."""
    if bots_start(url, clients, ramp, out).wait() != 0:
        raise RuntimeError("the bots failed")
    with open(out) as f:
        return json.load(f)


def stop(proc):
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--clients", type=int, default=600)
    ap.add_argument("--ramp", type=int, default=100, help="joins per second")
    args = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="tickroom-cluster-bench-")
    results = {}

    server, port = start_server(SERVER, OPEN)
    try:
        single = bots(f"ws://127.0.0.1:{port}/ws", args.clients, args.ramp,
                      os.path.join(tmp, "single.json"))
    finally:
        stop(server)
    results["single"] = {"join_ms": single["join_ms"], "joined": single["clients"]["joined"],
                         "failed": single["clients"]["failed"]}

    rport = free_port()
    redis = subprocess.Popen(["redis-server", "--port", str(rport), "--bind", "127.0.0.1",
                              "--save", "", "--appendonly", "no"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    nodes = []
    try:
        for _ in range(100):
            if subprocess.run(["redis-cli", "-p", str(rport), "PING"], capture_output=True,
                              text=True).stdout.strip() == "PONG":
                break
            time.sleep(0.05)
        for node in "abc":
            nodes.append(start_server(SERVER, OPEN + [
                "--cluster-redis", f"redis://127.0.0.1:{rport}", "--node-id", node,
                "--cluster-prefix", "bench"]))
        time.sleep(2)
        idle_from, t0 = redis_calls(rport), time.monotonic()
        time.sleep(4)
        idle_to, t1 = redis_calls(rport), time.monotonic()
        idle = [(b - a) / (t1 - t0) for a, b in zip(idle_from, idle_to)]
        out = os.path.join(tmp, "cluster.json")
        run = bots_start(f"ws://127.0.0.1:{nodes[0][1]}/ws", args.clients, args.ramp, out)
        # Every bot has joined (ramp) and the window is running: where are the players?
        time.sleep(args.clients / args.ramp + 3)
        with urllib.request.urlopen(f"http://127.0.0.1:{nodes[1][1]}/api/rooms") as r:
            rooms = json.load(r)
        run.wait()
        with open(out) as f:
            cluster = json.load(f)
        after, t2 = redis_calls(rport), time.monotonic()
        trips, commands = [b - a - rate * (t2 - t1) for a, b, rate in zip(idle_to, after, idle)]
    finally:
        for proc, _ in nodes:
            stop(proc)
        stop(redis)
    joined = cluster["clients"]["joined"]
    per_node = {}
    for r in rooms:
        per_node[r["node"]] = per_node.get(r["node"], 0) + r["players"]
    results["cluster"] = {
        "join_ms": cluster["join_ms"], "joined": joined, "failed": cluster["clients"]["failed"],
        "redirects": cluster["clients"]["redirects"],
        "redirected_share": cluster["clients"]["redirects"] / max(1, joined),
        "redis_round_trips_per_join": trips / max(1, joined),
        "redis_commands_per_join": commands / max(1, joined),
        "redis_idle_round_trips_per_s": idle[0],
        "players_per_node": per_node,
    }
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    results["run"] = {"clients": args.clients, "ramp_per_s": args.ramp, "commit": commit,
                      "date": datetime.date.today().isoformat()}

    s, c = results["single"], results["cluster"]
    print(f"{args.clients} arena bots quick-matching at {args.ramp}/s (rooms of 50), commit {commit}")
    print(f"{'':24}{'single node':>14}{'3 nodes via a':>16}")
    for label, key in [("join p50 ms", "p50"), ("join p90 ms", "p90"), ("join p99 ms", "p99"),
                       ("join max ms", "max")]:
        print(f"{label:24}{s['join_ms'][key]:>14.2f}{c['join_ms'][key]:>16.2f}")
    print(f"{'joined / failed':24}{s['joined']:>10} / {s['failed']:<3}{c['joined']:>12} / {c['failed']:<3}")
    print(f"redirected: {c['redirects']} of {c['joined']} joins ({100 * c['redirected_share']:.0f} %)")
    print(f"Redis round trips per join: {c['redis_round_trips_per_join']:.2f} "
          f"(commands run, inside scripts included: {c['redis_commands_per_join']:.1f}; "
          f"upkeep without joins, {c['redis_idle_round_trips_per_s']:.1f} round trips/s, "
          "subtracted)")
    print(f"players per node: {c['players_per_node']}")
    out = os.path.join(ROOT, "bench/results",
                       f"cluster-{results['run']['date']}-{commit}.json")
    with open(out, "w") as f:
        json.dump(results, f, indent=2)
    print("written", os.path.relpath(out, ROOT))


if __name__ == "__main__":
    main()
