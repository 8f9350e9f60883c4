"""One MCP server for the life of the process: connected in a background task, its tools listed, and
reconnected with backoff whenever it goes away.

The session lives in `run`, because the SDK's transports hold anyio task groups, which must be entered
and left in one task; calls from the pipeline's tasks go through the same `mcp.Client`. The task
connects and lists the tools (every request bounded by the server's `timeout`), lists them again every
`refresh_seconds`, when the server says its list changed, or at once when a call found the connection
closed — which is also how a server that died while idle is noticed — and after any failure drops the
tools and tries again after a backoff (1 s, doubling to 60 s). `stop` cancels the task's anyio scope, so
the SDK's shielded shutdown still closes the stdio subprocess (stdin, then SIGTERM, then SIGKILL).

Logs: the first failure of a run is one warning naming the server and the error; the retries after it
are debug lines, so a server that stays down says so once. Secret header values are handed to the
HTTP client only, never to a log line or an error.
"""

import asyncio
import contextlib
import importlib.metadata
import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TextIO

import anyio
import httpx2
from mcp.client import Client, IncomingMessage
from mcp.client.stdio import StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError
from mcp_types import CONNECTION_CLOSED, REQUEST_TIMEOUT, Implementation, Tool, ToolListChangedNotification

from parley_runtime.config.models import McpServer
from parley_runtime.core.protocols import PluginOutput
from parley_runtime.mcp_client import content

__all__ = ["Listed", "ServerConnection", "Unavailable", "backoff"]

log = logging.getLogger("parley.mcp")

BACKOFF_FIRST_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
REFRESH_SECONDS = 60.0
SSE_READ_SECONDS = 300.0  # the server-to-client event stream may stay quiet this long
MAX_TOOLS = 128  # per server: more than a model can choose among anyway
MAX_PAGES = 10
MAX_DESCRIPTION_CHARS = 1024
MAX_ERROR_CHARS = 500

# Failures that mean the connection is gone (not that this one call went wrong).
_GONE = (httpx2.TransportError, OSError, anyio.BrokenResourceError, anyio.ClosedResourceError, EOFError)


class Unavailable(Exception):
    """The server is not connected: down, reconnecting, or gone during the call."""


@dataclass(frozen=True)
class Listed:
    """One tool as its server listed it."""

    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments


def backoff(failures: int) -> float:
    """Seconds to wait before the next attempt after `failures` failed ones in a row."""
    return min(BACKOFF_MAX_SECONDS, BACKOFF_FIRST_SECONDS * 2.0 ** min(max(0, failures - 1), 16))


def _client_info() -> Implementation:
    try:
        version = importlib.metadata.version("parley")
    except importlib.metadata.PackageNotFoundError:
        version = "0"
    return Implementation(name="parley", version=version)


def _server_stderr() -> TextIO:
    """Where a stdio server's own log lines go: our stderr, beside our logs, as a container runtime
    would put them (the standard stream when `sys.stderr` has been replaced by one without a file)."""
    try:
        sys.stderr.fileno()
    except (AttributeError, OSError, ValueError):
        return sys.__stderr__ or sys.stderr
    return sys.stderr


def _leaf(exc: BaseException) -> BaseException:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def describe(exc: BaseException) -> str:
    """A short, single-line account of a failure (a task group's first error, not the group)."""
    leaf = _leaf(exc)
    text = " ".join(str(leaf).split())[:200]
    return f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__


def _listed(tool: Tool) -> Listed:
    description = (tool.description or tool.title or "").strip()[:MAX_DESCRIPTION_CHARS]
    parameters = dict(tool.input_schema) if isinstance(tool.input_schema, dict) else {}
    parameters.setdefault("type", "object")
    if parameters["type"] == "object":
        parameters.setdefault("properties", {})
    return Listed(tool.name, description, parameters)


class ServerConnection:
    """One configured server: `run` keeps it connected, `call` runs one of its tools."""

    def __init__(
        self,
        spec: McpServer,
        *,
        headers: Mapping[str, str],
        env: Mapping[str, str],
        on_change: Callable[[], None],
        refresh_seconds: float = REFRESH_SECONDS,
    ) -> None:
        self.spec = spec
        self.name = spec.name
        self.timeout = spec.timeout_seconds
        # The last list seen, kept while the server is down so that the names the model sees stay put.
        self.tools: tuple[Listed, ...] = ()
        self._headers = dict(headers)
        self._env = dict(env)
        self._on_change = on_change
        self._refresh = refresh_seconds
        self._client: Client | None = None
        self._recheck = asyncio.Event()
        self._scope: anyio.CancelScope | None = None
        self._stopping = False
        self._was_up = False

    @property
    def up(self) -> bool:
        """Whether the server answered its last request: only then are its tools offered."""
        return self._client is not None

    # the background task

    async def run(self) -> None:
        """Until `stop`: keep a session open, reconnecting after failures. Never raises."""
        with anyio.CancelScope() as scope:
            self._scope = scope
            if self._stopping:
                return
            failures = 0
            while True:
                self._was_up = False
                try:
                    await self._session()
                except Exception as exc:  # whatever went wrong, the server is a missing tool until it is back
                    if self._was_up:
                        failures = 1
                        log.warning(
                            "MCP server went away; its tools are left out until it is back",
                            extra={"server": self.name, "error": describe(exc)},
                        )
                    else:
                        failures += 1
                        (log.warning if failures == 1 else log.debug)(
                            "MCP server unavailable; its tools are left out until it answers",
                            extra={"server": self.name, "error": describe(exc), "attempt": failures},
                        )
                await anyio.sleep(backoff(failures))

    def stop(self) -> None:
        """End `run` (it closes the session and the stdio subprocess on its way out)."""
        self._stopping = True
        if self._scope is not None:
            self._scope.cancel()

    async def _session(self) -> None:
        """Connect, list, and keep listing until something fails (it raises) or `stop`."""
        self._recheck.clear()
        async with self._open() as client:
            tools = await self._list(client)
            self._was_up = True
            self._set(client, tools)
            log.info("MCP server connected", extra={"server": self.name, "tools": len(tools)})
            self._check_allowed(tools)
            try:
                while True:
                    with anyio.move_on_after(self._refresh):
                        await self._recheck.wait()
                    self._recheck.clear()
                    self._set(client, await self._list(client))
            finally:
                self._client = None
                self._on_change()

    @contextlib.asynccontextmanager
    async def _open(self) -> AsyncIterator[Client]:
        spec = self.spec
        async with contextlib.AsyncExitStack() as stack:
            if spec.url is not None:
                http = await stack.enter_async_context(
                    httpx2.AsyncClient(
                        headers=self._headers,
                        timeout=httpx2.Timeout(self.timeout, read=max(self.timeout, SSE_READ_SECONDS)),
                    )
                )
                transport = streamable_http_client(spec.url, http_client=http)
            else:
                assert spec.command is not None  # the model allows exactly one of url and command
                params = StdioServerParameters(
                    command=spec.command, args=list(spec.args), env=self._env or None
                )
                transport = stdio_client(params, errlog=_server_stderr())
            client = Client(
                transport,
                read_timeout_seconds=self.timeout,
                cache=None,  # the tool list is asked for on purpose, and must be fresh
                client_info=_client_info(),
                message_handler=self._on_message,
            )
            yield await stack.enter_async_context(client)

    async def _on_message(self, message: IncomingMessage) -> None:
        if isinstance(message, ToolListChangedNotification):
            self._recheck.set()

    async def _list(self, client: Client) -> tuple[Listed, ...]:
        found: list[Tool] = []
        cursor: str | None = None
        for _ in range(MAX_PAGES):
            page = await client.list_tools(cursor=cursor)
            found += page.tools
            cursor = page.next_cursor
            if cursor is None or len(found) >= MAX_TOOLS:
                break
        allowed = self.spec.allow_tools
        if allowed is not None:
            found = [t for t in found if t.name in allowed]
        return tuple(_listed(t) for t in found[:MAX_TOOLS])

    def _set(self, client: Client, tools: tuple[Listed, ...]) -> None:
        changed = tools != self.tools or self._client is not client
        self._client = client
        self.tools = tools
        if changed:
            self._on_change()

    def _check_allowed(self, tools: tuple[Listed, ...]) -> None:
        if self.spec.allow_tools is None:
            return
        missing = sorted(set(self.spec.allow_tools) - {t.name for t in tools})
        if missing:
            log.warning(
                "MCP server does not list some tools named in allowTools",
                extra={"server": self.name, "missing": ", ".join(missing)},
            )

    def _gone(self) -> None:
        """A call found the connection closed: withdraw the tools now and let `run` find out more."""
        if self._client is not None:
            self._client = None
            self._on_change()
        self._recheck.set()

    # calls from the pipeline

    async def call(self, tool: str, arguments: dict[str, Any], exposed: str) -> str | PluginOutput:
        """The answer of `tool`, which the model knows as `exposed`; `error: …` text when the tool or
        the server refused it. Raises `Unavailable` when the server is not there."""
        client = self._client
        if client is None:
            raise Unavailable(f"MCP server {self.name} is not connected")
        try:
            result = await client.call_tool(tool, arguments, read_timeout_seconds=self.timeout)
        except MCPError as exc:
            if exc.code == CONNECTION_CLOSED:
                self._gone()
                raise Unavailable(f"MCP server {self.name} went away") from None
            if exc.code == REQUEST_TIMEOUT:
                return f"error: {exposed} timed out after {self.timeout:g}s"
            return f"error: {exposed}: {' '.join(exc.message.split())[:MAX_ERROR_CHARS]}"
        except _GONE:
            self._gone()
            raise Unavailable(f"MCP server {self.name} went away") from None
        except Exception as exc:  # a malformed answer, a request for input we cannot give…
            log.warning(
                "MCP tool call failed",
                extra={"server": self.name, "tool": tool, "error": describe(exc)},
            )
            return f"error: {exposed} failed ({type(exc).__name__}); try something else"
        return content.tool_output(exposed, result)
