"""`McpTools`: the tools of every configured MCP server, for the tool loop beside the plugins' tools.

Names come from `names.assign` over each server's last listed tools — kept while a server is down, so
that a name does not move when another server comes and goes — and are worked out again only when a
list or the plugins' tool names change. Only the tools of servers that are up are offered; a call to
a tool of one that is not gets `tool unavailable: …` for the model to read, never an exception.
"""

import asyncio
import copy
import json
import logging
from collections.abc import Mapping, Sequence

from parley_runtime.config.errors import ConfigError
from parley_runtime.config.models import McpServer, SecretValue
from parley_runtime.config.secrets import Secrets
from parley_runtime.core.chat import ToolSpec
from parley_runtime.core.protocols import PluginOutput
from parley_runtime.mcp_client import names
from parley_runtime.mcp_client.connection import REFRESH_SECONDS, Listed, ServerConnection, Unavailable

__all__ = ["CLOSE_SECONDS", "McpTools"]

log = logging.getLogger("parley.mcp")

# Long enough for the SDK's own stdio shutdown (stdin closed, then SIGTERM, then SIGKILL: 2 s each).
CLOSE_SECONDS = 10.0

Named = dict[str, tuple[ServerConnection, Listed]]


def _values(refs: Mapping[str, SecretValue], secrets: Secrets, where: str) -> dict[str, str]:
    values: dict[str, str] = {}
    missing: list[str] = []
    for key, ref in refs.items():
        value = secrets.get(ref)
        if value is None:
            sel = ref.secret_key_ref
            missing.append(f"{where}.{key}: secret {sel.name}/{sel.key} not found")
        else:
            values[key] = value
    if missing:
        raise ConfigError(missing)
    return values


class McpTools:
    def __init__(self) -> None:
        self._connections: dict[str, ServerConnection] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._version = 0  # bumped whenever a server's tools or state change
        self._named: Named = {}
        self._named_for: tuple[int, frozenset[str]] | None = None
        self._reported: set[tuple[str, str]] = set()

    @classmethod
    def from_specs(
        cls, specs: Sequence[McpServer], secrets: Secrets, *, refresh_seconds: float = REFRESH_SECONDS
    ) -> "McpTools":
        """The servers of `spec.mcpServers`, not yet connected; ConfigError when a secret is missing."""
        tools = cls()
        for i, spec in enumerate(specs):
            where = f"spec.mcpServers[{i}]"
            tools._connections[spec.name] = ServerConnection(
                spec,
                headers=_values(spec.headers, secrets, f"{where}.headers"),
                env=_values(spec.env, secrets, f"{where}.env"),
                on_change=tools._changed,
                refresh_seconds=refresh_seconds,
            )
        return tools

    @property
    def servers(self) -> Mapping[str, ServerConnection]:
        return self._connections

    async def start(self) -> None:
        """Connect to every server in the background: returns at once, a slow server delays nothing."""
        if self._tasks:
            return
        self._tasks = [
            asyncio.create_task(conn.run(), name=f"mcp-{name}") for name, conn in self._connections.items()
        ]

    async def aclose(self) -> None:
        """Close every session and stdio subprocess (a task that will not end in time is cancelled)."""
        for conn in self._connections.values():
            conn.stop()
        if not self._tasks:
            return
        _, late = await asyncio.wait(self._tasks, timeout=CLOSE_SECONDS)
        for task in late:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # what the pipeline asks

    def tool_specs(self, reserved: frozenset[str] = frozenset()) -> list[ToolSpec]:
        """The tools of the servers that are up, named clear of `reserved` (the plugins' tools)."""
        return [
            ToolSpec(name=name, description=tool.description, parameters=copy.deepcopy(tool.parameters))
            for name, (conn, tool) in self._names(reserved).items()
            if conn.up
        ]

    def owns(self, name: str, reserved: frozenset[str] = frozenset()) -> bool:
        """Whether `name` is an MCP tool (of a server up or down) rather than a plugin's."""
        return name in self._names(reserved)

    async def call(
        self, name: str, arguments: str, reserved: frozenset[str] = frozenset()
    ) -> str | PluginOutput:
        """The answer for the model (and any pictures for the user); never raises."""
        found = self._names(reserved).get(name)
        if found is None:
            return f"error: unknown tool {name!r}"
        conn, tool = found
        try:
            parsed = json.loads(arguments or "{}")
        except ValueError:
            return f"error: {name}: the arguments are not valid JSON"
        if not isinstance(parsed, dict):
            return f"error: {name}: the arguments must be a JSON object"
        try:
            return await conn.call(tool.name, parsed, name)
        except Unavailable as exc:
            return f"tool unavailable: {name} ({exc}); answer without it"

    # helpers

    def _changed(self) -> None:
        self._version += 1

    def _names(self, reserved: frozenset[str]) -> Named:
        key = (self._version, reserved)
        if self._named_for == key:
            return self._named
        listed = {name: conn.tools for name, conn in self._connections.items()}
        assigned, left_out = names.assign(
            reserved, {s: [t.name for t in tools] for s, tools in listed.items()}
        )
        by_name = {s: {t.name: t for t in tools} for s, tools in listed.items()}
        self._named = {
            exposed: (self._connections[server], by_name[server][tool])
            for exposed, (server, tool) in assigned.items()
        }
        self._named_for = key
        for server, tool in left_out:
            if (server, tool) not in self._reported:
                self._reported.add((server, tool))
                log.warning(
                    "MCP tool left out: its name clashes even with the server's prefix",
                    extra={"server": server, "tool": tool},
                )
        return self._named
