#!/usr/bin/env python3
"""Clients that stop reading, against a fresh release server: what they make it hold, and for
how long.

    bench/hostile.py [--mode seated|unseated] [--clients N] [--seconds S] [--bin PATH]
                     [--server-args "FLAGS"] [--out FILE]

Starts target/release/tickroom-server on a free loopback port (bots-style budgets lifted, since
every client comes from 127.0.0.1), opens N WebSockets with a 4 KiB receive buffer, then
  - seated:   each joins the default game by quick match, then never reads again;
  - unseated: none joins, none reads;
and every client keeps sending a WebSocket ping with a 125-byte payload every 100 ms (10 frames
a second, well inside the rate limit), as long as its socket takes them. Every second it samples
the server's RSS and open descriptors (/proc), and the kernel memory of the server's side of
those sockets (`ss -tm`: the receive and send queues' allocations, skmem r + w). Prints a table and writes
bench/results/hostile-<mode>.json. Only 127.0.0.1; stops the server it started, by PID.
"""
import argparse
import json
import os
import signal
import subprocess
import threading
import time

from loopback import frame, start_server, upgrade

JOIN_QUICK = bytes.fromhex("99 00 02 a3 61 6e 6e c0 c0 c2 c0 c0 c0")


def server_sockets(port):
    """Kernel memory (bytes) held by the server's established sockets on `port`, and their count."""
    out = subprocess.run(
        ["ss", "-tmnH", "state", "established", f"( sport = :{port} )"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    total, count = 0, 0
    for line in out.splitlines():
        if "skmem:(" in line:
            count += 1
            fields = line.split("skmem:(")[1].split(")")[0].split(",")
            for f in fields:
                # r: receive queue, w: send queue (both in allocated bytes, "truesize").
                if f[:1] in ("r", "w") and f[1:].isdigit():
                    total += int(f[1:])
    return total, count


def proc_sample(pid):
    rss = 0
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                rss = int(line.split()[1])
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    return rss, fds


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mode", choices=["seated", "unseated"], default="seated")
    ap.add_argument("--clients", type=int, default=200)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument("--bin", default="target/release/tickroom-server")
    ap.add_argument(
        "--server-args",
        default="--max-seats-per-ip 0 --max-rooms-per-ip 0 --room-creates-per-minute 0",
        help="extra server flags (the default lifts the per-address budgets)",
    )
    ap.add_argument("--out", help="results file (default bench/results/hostile-<mode>.json)")
    args = ap.parse_args()

    server, port = start_server(args.bin, args.server_args.split())
    try:
        base_rss, base_fds = proc_sample(server.pid)
        clients = []
        for _ in range(args.clients):
            s = upgrade(port, recv_buffer=4096)
            if args.mode == "seated":
                s.sendall(frame(0x2, JOIN_QUICK))
            s.setblocking(False)
            clients.append(s)
        stop = threading.Event()
        blocked = [0]

        def pinger():
            ping = frame(0x9, b"x" * 125)
            while not stop.is_set():
                for s in clients:
                    try:
                        s.send(ping)
                    except BlockingIOError:
                        blocked[0] += 1
                    except OSError:
                        pass
                stop.wait(0.1)

        thread = threading.Thread(target=pinger, daemon=True)
        thread.start()
        samples = []
        start = time.time()
        all_closed_at = None
        while time.time() - start < args.seconds:
            rss, fds = proc_sample(server.pid)
            kmem, open_sockets = server_sockets(port)
            t = round(time.time() - start, 1)
            samples.append(
                {"t": t, "rss_kib": rss, "fds": fds, "kernel_bytes": kmem, "open": open_sockets}
            )
            if open_sockets == 0 and all_closed_at is None:
                all_closed_at = t
            time.sleep(1)
        stop.set()
        thread.join()
        for s in clients:
            s.close()
        peak = max(samples, key=lambda x: x["kernel_bytes"])
        peak_rss = max(x["rss_kib"] for x in samples)
        result = {
            "mode": args.mode,
            "clients": args.clients,
            "idle_server": {"rss_kib": base_rss, "fds": base_fds},
            "peak_kernel_bytes": peak["kernel_bytes"],
            "peak_kernel_bytes_per_client": peak["kernel_bytes"] // max(1, args.clients),
            "peak_rss_kib": peak_rss,
            "rss_growth_per_client_kib": round((peak_rss - base_rss) / max(1, args.clients), 1),
            "all_closed_after_s": all_closed_at,
            "final": samples[-1],
            "samples": samples,
        }
        print(f"{'t':>5} {'open':>5} {'fds':>5} {'rss KiB':>8} {'kernel KiB':>10}")
        for x in samples:
            print(
                f"{x['t']:>5} {x['open']:>5} {x['fds']:>5} {x['rss_kib']:>8} "
                f"{x['kernel_bytes'] // 1024:>10}"
            )
        summary = {k: v for k, v in result.items() if k != "samples"}
        summary["pings_refused_by_full_sockets"] = blocked[0]
        result["pings_refused_by_full_sockets"] = blocked[0]
        print(json.dumps(summary, indent=1))
        os.makedirs("bench/results", exist_ok=True)
        with open(args.out or f"bench/results/hostile-{args.mode}.json", "w") as f:
            json.dump(result, f, indent=1)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    main()
