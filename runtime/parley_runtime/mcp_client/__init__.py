"""MCP servers' tools in the tool loop (docs/mcp.md), through the official `mcp` SDK.

Rule: this package is the only one that imports `mcp`; it builds on config and core and on nothing
of the plugins, which it reaches only through the `core.protocols.Plugins` interface (`combined`).
`names` and `content` are pure; `connection` holds one server's session in a background task and
never lets a server's failure out as an exception — a server that is down is a missing tool.
Nothing happens at import: `McpTools.from_specs` builds, `start` connects.
"""
