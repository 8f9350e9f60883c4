"""`McpTools` and `WithMcpTools` without a connected server: what the pipeline sees of a server that is
down, and that everything else still reaches the plugins."""

from collections.abc import AsyncIterator

import httpx
import pytest

import factories
from parley_runtime.config.models import McpServer
from parley_runtime.config.secrets import Secrets
from parley_runtime.core.chat import ToolCall
from parley_runtime.mcp_client.combined import WithMcpTools
from parley_runtime.mcp_client.connection import Listed, backoff
from parley_runtime.mcp_client.toolset import McpTools
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.api import NoConfig, Plugin, PluginServices, ToolContext
from parley_runtime.plugins.host import PluginHost

WEATHER = Listed("lookup_weather", "Weather.", {"type": "object", "properties": {"city": {"type": "string"}}})
CLOCK = Listed("current_time", "Server time.", {"type": "object", "properties": {}})


def _down_server() -> McpTools:
    """A server that listed two tools before it went away (the list is kept, nothing is connected)."""
    tools = McpTools.from_specs([McpServer(name="srv", url="http://127.0.0.1:9/mcp")], Secrets({}))
    tools.servers["srv"].tools = (WEATHER, CLOCK)
    return tools


def _clock_plugin() -> Plugin[NoConfig]:
    plugin = Plugin("clock")

    @plugin.tool(description="The time.", parameters={"type": "object", "properties": {}})
    async def current_time(ctx: ToolContext[NoConfig]) -> str:
        return "plugin time"

    return plugin


@pytest.fixture
async def host() -> AsyncIterator[PluginHost]:
    async def no_reset(message: object) -> None:
        return None

    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(599))) as http:
        services = PluginServices(http=http, clock=lambda: 0.0, reset_session=no_reset, bot="b")
        yield PluginHost.from_plugins([_clock_plugin()], services=services, metrics=Metrics(), builtins=False)


def test_backoff_doubles_up_to_a_minute() -> None:
    assert [backoff(n) for n in (0, 1, 2, 3, 7, 8, 100)] == [1.0, 1.0, 2.0, 4.0, 60.0, 60.0, 60.0]


async def test_a_server_that_is_down_offers_nothing_but_its_tools_answer_unavailable() -> None:
    tools = _down_server()
    assert tools.tool_specs() == []
    assert tools.owns("lookup_weather")
    answer = await tools.call("lookup_weather", '{"city": "Oslo"}')
    assert answer == "tool unavailable: lookup_weather (MCP server srv is not connected); answer without it"


async def test_plugins_keep_their_tool_names_and_everything_else(host: PluginHost) -> None:
    combined = WithMcpTools(host, _down_server())
    message = factories.make_inbound(text="what time is it?")
    assert [s.name for s in combined.tool_specs()] == ["current_time"]  # the MCP server is down
    assert combined.mcp.owns("srv_current_time", frozenset({"current_time"}))
    assert await combined.call_tool(ToolCall(id="1", name="current_time"), message) == "plugin time"
    unavailable = await combined.call_tool(ToolCall(id="2", name="srv_current_time"), message)
    assert unavailable.startswith("tool unavailable: srv_current_time")
    assert await combined.dispatch(message) is None
    assert await combined.after_reply(message, "text") == "text"


async def test_closing_servers_that_never_started_is_a_no_op() -> None:
    tools = _down_server()
    await tools.aclose()
    await tools.aclose()
