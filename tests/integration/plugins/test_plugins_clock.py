"""clock, loaded from a manifest spec, with the fixed clock of the services (2023-11-14T22:13:20Z)."""

import json
from collections.abc import Callable
from typing import Any

from parley_runtime.core.chat import ToolCall
from parley_runtime.plugins.host import PluginHost

Make = Callable[..., Any]


def call(arguments: dict[str, Any]) -> ToolCall:
    return ToolCall(id="c", name="current_time", arguments=json.dumps(arguments))


async def test_current_time_tool(load_host: Make, make_message: Make) -> None:
    host: PluginHost = load_host([{"name": "clock"}])
    [spec] = host.tool_specs()
    assert spec.parameters["properties"]["timezone"]["type"] == "string"
    assert await host.call_tool(call({}), make_message()) == (
        "2023-11-14T22:13:20+00:00 (Tuesday, 2023-11-14, timezone UTC)"
    )
    assert await host.call_tool(call({"timezone": "Asia/Shanghai"}), make_message()) == (
        "2023-11-15T06:13:20+08:00 (Wednesday, 2023-11-15, timezone Asia/Shanghai)"
    )
    assert await host.call_tool(call({"timezone": "Moon/Base"}), make_message()) == (
        "error: current_time: unknown timezone 'Moon/Base'; use an IANA name such as Asia/Shanghai or UTC"
    )


async def test_default_timezone_from_config_and_time_command(load_host: Make, make_message: Make) -> None:
    host: PluginHost = load_host([{"name": "clock", "config": {"defaultTimezone": "America/New_York"}}])
    assert await host.call_tool(call({}), make_message()) == (
        "2023-11-14T17:13:20-05:00 (Tuesday, 2023-11-14, timezone America/New_York)"
    )
    assert await host.dispatch(make_message("/time")) == (
        "2023-11-14T17:13:20-05:00 (Tuesday, 2023-11-14, timezone America/New_York)"
    )
    assert await host.dispatch(make_message("/time Asia/Tokyo")) == (
        "2023-11-15T07:13:20+09:00 (Wednesday, 2023-11-15, timezone Asia/Tokyo)"
    )
    reply = await host.dispatch(make_message("/time Nowhere"))
    assert reply is not None and reply.startswith("Unknown timezone 'Nowhere'")
