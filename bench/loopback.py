"""What bench/hostile.py and bench/stats_flood.py share: a release server started on a free
loopback port, and raw WebSocket clients (upgrade, masked frames) that can misbehave in ways a
WebSocket library would not allow. Only 127.0.0.1."""
import os
import socket
import subprocess
import time
import urllib.request


def frame(opcode, payload):
    """A masked client frame (payload under 126 bytes)."""
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + body


def start_server(binary, flags):
    """Starts `binary` on a free loopback port with `flags` and waits until it answers
    /healthz; returns (process, port). Stop it with SIGTERM (by its PID)."""
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    server = subprocess.Popen(
        [binary, "--bind", f"127.0.0.1:{port}", "--static-dir", "/nonexistent", *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
            break
        except OSError:
            time.sleep(0.1)
    return server, port


def upgrade(port, recv_buffer=None):
    """A socket upgraded to a tickroom.v2 WebSocket (the 101 read, nothing after it);
    `recv_buffer` sets a small SO_RCVBUF first, for clients that stop reading."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if recv_buffer:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, recv_buffer)
    s.connect(("127.0.0.1", port))
    s.sendall(
        (
            f"GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: tickroom.v2\r\n\r\n"
        ).encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(1)
        if not chunk:
            raise RuntimeError("closed during the upgrade")
        head += chunk
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise RuntimeError(head.split(b"\r\n")[0].decode())
    return s
