"""Tools as the model sees them (`tool_specs`) and as it calls them (`call_tool`)."""

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, Field

from parley_runtime.core.chat import ToolCall
from parley_runtime.plugins.api import NoConfig, Plugin, ToolContext, ToolError
from parley_runtime.plugins.host import PluginHost

Make = Callable[..., Any]


class OrderArgs(BaseModel):
    order_id: str = Field(description="the order number", pattern=r"^[0-9]+$")
    verbose: bool = False


def orders() -> Plugin[NoConfig]:
    plugin = Plugin("orders")

    @plugin.tool(description="Look up an order.", parameters=OrderArgs)
    async def lookup_order(ctx: ToolContext[NoConfig], order_id: str, verbose: bool) -> str:
        if order_id == "0":
            raise ToolError("order 0 does not exist; ask the user for the number on the receipt")
        return f"order {order_id} for {ctx.message.user_id} via call {ctx.call_id}: shipped" + (
            " (DHL)" if verbose else ""
        )

    @plugin.tool(
        "search", parameters={"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    )
    async def search(ctx: ToolContext[NoConfig], q: str) -> str:
        return f"results for {q}"

    return plugin


@pytest.fixture
def host(make_host: Make) -> PluginHost:
    built: PluginHost = make_host(orders())
    return built


def call(name: str, arguments: str) -> ToolCall:
    return ToolCall(id="call-1", name=name, arguments=arguments)


def test_tool_specs_come_from_the_pydantic_model(host: PluginHost) -> None:
    specs = {s.name: s for s in host.tool_specs()}
    assert set(specs) == {"lookup_order", "search"}
    lookup = specs["lookup_order"]
    assert lookup.description == "Look up an order."
    assert lookup.parameters == {
        "type": "object",
        "properties": {
            "order_id": {"type": "string", "description": "the order number", "pattern": "^[0-9]+$"},
            "verbose": {"type": "boolean", "default": False},
        },
        "required": ["order_id"],
    }


def test_tool_specs_are_copies(host: PluginHost) -> None:
    host.tool_specs()[0].parameters["properties"].clear()
    assert host.tool_specs()[0].parameters["properties"]


async def test_call_tool_validates_and_passes_keywords(host: PluginHost, make_message: Make) -> None:
    answer = await host.call_tool(call("lookup_order", '{"order_id": "42", "verbose": true}'), make_message())
    assert answer == "order 42 for user-1 via call call-1: shipped (DHL)"
    assert await host.call_tool(call("search", '{"q": "socks"}'), make_message()) == "results for socks"


@pytest.mark.parametrize(
    ("name", "arguments", "expected"),
    [
        ("lookup_order", '{"order_id": "42"', "error: lookup_order: arguments are not valid JSON"),
        ("lookup_order", "[1, 2]", "error: lookup_order: arguments must be a JSON object, got list"),
        (
            "lookup_order",
            '{"order_id": "abc"}',
            "error: lookup_order: invalid arguments: order_id: String should",
        ),
        ("lookup_order", "{}", "error: lookup_order: invalid arguments: order_id: Field required"),
        ("search", '{"q": 3}', "error: search: invalid arguments: q: 3 is not of type 'string'"),
        ("nope", "{}", "error: unknown tool 'nope'"),
    ],
)
async def test_bad_calls_become_error_strings(
    host: PluginHost, make_message: Make, name: str, arguments: str, expected: str
) -> None:
    answer = await host.call_tool(call(name, arguments), make_message())
    assert answer.startswith(expected), answer


async def test_tool_error_goes_to_the_model_and_is_not_counted(
    host: PluginHost, make_message: Make, plugin_errors: Any
) -> None:
    answer = await host.call_tool(call("lookup_order", '{"order_id": "0"}'), make_message())
    assert answer == "error: lookup_order: order 0 does not exist; ask the user for the number on the receipt"
    assert plugin_errors("orders") == 0


async def test_empty_arguments_mean_an_empty_object(make_host: Make, make_message: Make) -> None:
    plugin = Plugin("p")

    @plugin.tool("ping")
    async def ping(ctx: ToolContext[NoConfig]) -> str:
        return "pong"

    host: PluginHost = make_host(plugin)
    assert await host.call_tool(call("ping", ""), make_message()) == "pong"
