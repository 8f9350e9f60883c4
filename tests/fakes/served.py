"""Serving a fake ASGI app for a test: uvicorn on a free 127.0.0.1 port in a daemon thread.

Every fake server (platforms, LLMs, callback receivers) runs through here, so they all start and stop
the same way, and `Recorded` is how the recording fakes remember a request.

    with serve(app) as base_url: ...            # just the URL
    with serve_app(app) as served: served.base   # the handle (port, base URL)
"""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import uvicorn
from starlette.requests import Request

__all__ = ["Recorded", "ServedApp", "free_socket", "record", "serve", "serve_app"]

_START_TIMEOUT = 10.0
# Quiet by default: the fakes' access logs are noise in a failing test's output.
_DEFAULT_CONFIG: dict[str, Any] = {"log_level": "warning", "lifespan": "off", "access_log": False}


@dataclass(frozen=True)
class Recorded:
    """One request a recording fake received."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


async def record(request: Request) -> Recorded:
    """The request as a fake records it (header names lower-cased)."""
    return Recorded(
        method=request.method,
        path=request.url.path,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=await request.body(),
    )


def free_socket() -> socket.socket:
    """A socket bound to a free 127.0.0.1 port, for a server to listen on (no race for the port)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class ServedApp:
    """An ASGI app on 127.0.0.1:<free port>, served by uvicorn in a daemon thread.

    `config` overrides the uvicorn settings; `port` and `base` stay valid after `stop`, so a test can
    aim at a server that has gone away.
    """

    def __init__(self, app: Any, **config: Any) -> None:
        self._app = app
        self._config = {**_DEFAULT_CONFIG, **config}
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self.port = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reserve(self) -> int:
        """Bind the port now (before `start`), for fakes whose URL goes into test data up front."""
        if self._sock is None:
            self._sock = free_socket()
            self.port = self._sock.getsockname()[1]
        return self.port

    def start(self) -> None:
        self.reserve()
        assert self._sock is not None
        sock = self._sock
        self._server = uvicorn.Server(uvicorn.Config(self._app, **self._config))
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name=f"fake-{self.port}", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("fake server did not start")
            time.sleep(0.01)

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._sock is not None:
            self._sock.close()
        self._server = self._thread = self._sock = None


@contextlib.contextmanager
def serve_app(app: Any, **config: Any) -> Iterator[ServedApp]:
    served = ServedApp(app, **config)
    served.start()
    try:
        yield served
    finally:
        served.stop()


@contextlib.contextmanager
def serve(app: Any, **config: Any) -> Iterator[str]:
    """`serve_app`, yielding only the base URL."""
    with serve_app(app, **config) as served:
        yield served.base
