"""Real MCP servers for the MCP client tests: `demo_server.py` as a stdio subprocess, and the same server
over streamable HTTP on 127.0.0.1 (uvicorn in a thread), recording the headers it receives."""

import asyncio
import contextlib
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from fakes.served import ServedApp
from integration.mcp_client import demo_server
from parley_runtime.config.models import McpServer
from parley_runtime.config.secrets import Secrets
from parley_runtime.mcp_client.toolset import McpTools

SCRIPT = Path(demo_server.__file__)


def stdio_spec(name: str = "local", **fields: Any) -> McpServer:
    return McpServer.model_validate(
        {"name": name, "command": sys.executable, "args": [str(SCRIPT)], "timeout": "10s", **fields}
    )


def http_spec(url: str, name: str = "remote", **fields: Any) -> McpServer:
    return McpServer.model_validate({"name": name, "url": url, "timeout": "10s", **fields})


@dataclass
class HttpServer:
    """The demo server over streamable HTTP; `headers` are those of every request it received."""

    served: ServedApp
    headers: list[dict[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.served.base}/mcp"

    def stop(self) -> None:
        self.served.stop()


def _recording(app: ASGIApp, seen: list[dict[str, str]]) -> ASGIApp:
    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            seen.append({k.decode().lower(): v.decode() for k, v in scope["headers"]})
        await app(scope, receive, send)

    return wrapped


def start_http_server(name: str = "demo") -> HttpServer:
    seen: list[dict[str, str]] = []
    app = _recording(demo_server.build(name).streamable_http_app(), seen)
    # The app's session manager needs its lifespan; a short graceful shutdown ends open event streams.
    served = ServedApp(app, lifespan="on", timeout_graceful_shutdown=1)
    served.start()
    return HttpServer(served, seen)


@contextlib.contextmanager
def http_server(name: str = "demo") -> Iterator[HttpServer]:
    server = start_http_server(name)
    try:
        yield server
    finally:
        server.stop()


@contextlib.asynccontextmanager
async def running(*specs: McpServer, secrets: Secrets | None = None) -> AsyncIterator[McpTools]:
    tools = McpTools.from_specs(specs, secrets or Secrets({}))
    await tools.start()
    try:
        yield tools
    finally:
        await tools.aclose()


async def wait_until(condition: Callable[[], bool], what: str, seconds: float = 20.0) -> None:
    """Poll `condition` until it holds; fail naming `what` after `seconds` (a bound, not a measurement)."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
