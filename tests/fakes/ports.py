"""A port for a server a test starts in another process (which must be told the number up front).

Why not bind port 0 and hand the number on: the kernel gives port-0 binds and outgoing connections
numbers from the ephemeral range, so with four test workers another socket can take the port before
the child binds it. Numbers are drawn at random below that range instead, and checked free.
"""

import random
import socket

_LOW, _HIGH = 20000, 32000  # below Linux's default ephemeral range (32768-60999)


def free_port() -> int:
    for _ in range(200):
        port = random.randint(_LOW, _HIGH)
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port found")
