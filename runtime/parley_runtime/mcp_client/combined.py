"""The plugins as the pipeline sees them (`core.protocols.Plugins`), with MCP tools beside their own.

Only the tools are combined: commands, matchers and hooks go to the plugin host untouched, and a
plugin tool keeps its name when an MCP tool has the same one (`names`). The composition root wraps
the host in this only when `spec.mcpServers` is set, so a bot without MCP pays nothing for it.
"""

from parley_runtime.core.chat import ChatRequest, ToolCall, ToolSpec
from parley_runtime.core.messages import InboundMessage
from parley_runtime.core.protocols import PluginOutput, Plugins
from parley_runtime.mcp_client.toolset import McpTools

__all__ = ["WithMcpTools"]


class WithMcpTools:
    __slots__ = ("_reserved", "mcp", "plugins")

    def __init__(self, plugins: Plugins, mcp: McpTools) -> None:
        self.plugins = plugins
        self.mcp = mcp
        self._reserved: frozenset[str] | None = None  # the plugins' tool names, as last offered

    async def dispatch(self, message: InboundMessage) -> str | PluginOutput | None:
        return await self.plugins.dispatch(message)

    def tool_specs(self) -> list[ToolSpec]:
        own = self.plugins.tool_specs()
        self._reserved = reserved = frozenset(t.name for t in own)
        return [*own, *self.mcp.tool_specs(reserved)]

    async def call_tool(self, call: ToolCall, message: InboundMessage) -> str | PluginOutput:
        reserved = self._reserved
        if reserved is None:
            reserved = self._reserved = frozenset(t.name for t in self.plugins.tool_specs())
        if call.name not in reserved and self.mcp.owns(call.name, reserved):
            return await self.mcp.call(call.name, call.arguments, reserved)
        return await self.plugins.call_tool(call, message)

    async def before_llm(self, message: InboundMessage, request: ChatRequest) -> ChatRequest:
        return await self.plugins.before_llm(message, request)

    async def after_reply(self, message: InboundMessage, text: str) -> str:
        return await self.plugins.after_reply(message, text)
