"""The names the model sees for MCP tools: what function-calling APIs accept, unique beside the plugins'.

A tool keeps its own name when nothing else has it. When a plugin tool or another server's tool has
the same name, the MCP tools of that name become `<server>_<tool>` (a plugin tool is never renamed, so a
plugin's instructions keep working). A name still taken after that is left out, and reported.
"""

import re
from collections.abc import Collection, Mapping, Sequence

__all__ = ["TOOL_NAME_MAX", "Assigned", "assign", "safe"]

TOOL_NAME_MAX = 64  # what OpenAI, Anthropic and Gemini accept
_UNSAFE = re.compile(r"[^A-Za-z0-9_-]")

Assigned = tuple[dict[str, tuple[str, str]], list[tuple[str, str]]]
"""(exposed name → (server, tool), the (server, tool) pairs left out)."""


def safe(name: str) -> str:
    """`name` with every character outside `[A-Za-z0-9_-]` replaced by `_`, at most 64 characters."""
    return _UNSAFE.sub("_", name)[:TOOL_NAME_MAX] or "_"


def assign(reserved: Collection[str], servers: Mapping[str, Sequence[str]]) -> Assigned:
    """Names for the tools of `servers` (server name → its tool names, in order), none in `reserved`."""
    wanted: dict[str, list[tuple[str, str]]] = {}
    for server, tools in servers.items():
        for tool in tools:
            wanted.setdefault(safe(tool), []).append((server, tool))
    names: dict[str, tuple[str, str]] = {}
    left_out: list[tuple[str, str]] = []
    for name, owners in wanted.items():
        if len(owners) == 1 and name not in reserved:
            names[name] = owners[0]
            continue
        for server, tool in owners:
            prefixed = safe(f"{server}_{tool}")
            if prefixed in reserved or prefixed in names or prefixed in wanted:
                left_out.append((server, tool))
            else:
                names[prefixed] = (server, tool)
    return names, left_out
