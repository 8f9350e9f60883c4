"""The decorator API records handlers faithfully and rejects misuse when the module is imported."""

import re

import pytest
from pydantic import BaseModel, Field

from parley_runtime.plugins.api import (
    CommandContext,
    MessageContext,
    NoConfig,
    Plugin,
    PluginConfig,
    PluginDefinitionError,
    ToolContext,
)


class WeatherConfig(PluginConfig):
    api_base: str = "https://weather.example"
    units: str = "metric"


def test_decorators_register_every_kind_in_order() -> None:
    plugin = Plugin("weather", config_model=WeatherConfig, description="Weather reports")

    @plugin.command("weather", description="today's weather", aliases=("w",))
    async def weather(ctx: CommandContext[WeatherConfig], args: str) -> str:
        return args

    @plugin.match(r"rain(y)?", keywords=("umbrella",))
    def rain(ctx: MessageContext[WeatherConfig], match: re.Match[str] | None) -> str | None:
        return None

    @plugin.tool(description="forecast for a city")
    async def forecast(ctx: ToolContext[WeatherConfig], city: str) -> str:
        return city

    @plugin.on_startup
    def up(ctx: object) -> None: ...

    @plugin.on_shutdown
    def down(ctx: object) -> None: ...

    @plugin.on_message
    def seen(ctx: object) -> None: ...

    @plugin.before_llm
    def before(ctx: object, request: object) -> None: ...

    @plugin.after_reply
    def after(ctx: object, text: str) -> None: ...

    assert plugin.config_model is WeatherConfig
    [command] = plugin.commands
    assert (command.name, command.description, command.aliases, command.handler) == (
        "weather",
        "today's weather",
        ("w",),
        weather,
    )
    [matcher] = plugin.matchers
    assert matcher.regex is not None and matcher.regex.pattern == "rain(y)?"
    assert matcher.keywords == ("umbrella",) and matcher.handler is rain
    [tool] = plugin.tools
    assert (tool.name, tool.description, tool.handler) == ("forecast", "forecast for a city", forecast)
    assert plugin.startup_hooks == [up] and plugin.shutdown_hooks == [down]
    assert plugin.message_hooks == [seen]
    assert plugin.before_llm_hooks == [before] and plugin.after_reply_hooks == [after]


def test_decorated_functions_are_returned_unchanged() -> None:
    plugin = Plugin("p")

    def handler(ctx: CommandContext[NoConfig], args: str) -> str:
        return "ok"

    assert plugin.command("x")(handler) is handler


def test_plugin_without_config_model_gets_noconfig() -> None:
    assert Plugin("plain").config_model is NoConfig


@pytest.mark.parametrize("name", ["Weather", "-x", "has space", "", "a" * 64, "x_"])
def test_bad_plugin_names_are_refused(name: str) -> None:
    with pytest.raises(PluginDefinitionError, match="plugin name"):
        Plugin(name)


def test_config_model_must_be_pydantic() -> None:
    with pytest.raises(PluginDefinitionError, match="config_model"):
        Plugin("p", config_model=dict)  # type: ignore[call-overload]


@pytest.mark.parametrize("name", ["/weather", "Weather", "with space", "a" * 33, ""])
def test_bad_command_names_are_refused(name: str) -> None:
    with pytest.raises(PluginDefinitionError, match="command name"):
        Plugin("p").command(name)


def test_a_command_name_cannot_be_registered_twice() -> None:
    plugin = Plugin("p")
    plugin.command("go", aliases=("g",))(lambda ctx, args: "1")
    with pytest.raises(PluginDefinitionError, match="/g registered twice"):
        plugin.command("g")


def test_bad_regex_is_reported_at_registration() -> None:
    with pytest.raises(PluginDefinitionError, match="bad regex"):
        Plugin("p").match("(unclosed")


def test_keywords_as_a_bare_string_is_a_mistake() -> None:
    with pytest.raises(PluginDefinitionError, match="keywords"):
        Plugin("p").match(keywords="rain")


def test_matcher_test_regex_keywords_and_catch_all() -> None:
    plugin = Plugin("p")
    plugin.match(r"order #(\d+)", keywords=("Refund",))(lambda ctx, m: None)
    plugin.match()(lambda ctx, m: None)
    specific, catch_all = plugin.matchers
    hit, found = specific.test("where is order #42?")
    assert hit and found is not None and found.group(1) == "42"
    assert specific.test("I want a REFUND") == (True, None)
    assert specific.test("hello") == (False, None)
    assert catch_all.test("anything") == (True, None)


def test_tool_name_defaults_to_function_and_description_to_docstring() -> None:
    plugin = Plugin("p")

    @plugin.tool()
    async def lookup_order(ctx: ToolContext[NoConfig], order_id: str) -> str:
        """Find an order
        by its id.

        Longer details the model does not need.
        """
        return order_id

    [tool] = plugin.tools
    assert tool.name == "lookup_order"
    assert tool.description == "Find an order by its id."
    assert tool.parameters == {"type": "object", "properties": {}}


def test_tool_spec_generated_from_a_pydantic_model_is_flat() -> None:
    class Address(BaseModel):
        city: str = Field(description="city name")
        title: str | None = None  # a property called "title" must survive title-stripping

    class Args(BaseModel):
        address: Address
        days: int = Field(default=1, ge=1, le=7)
        note: str | None = None

    plugin = Plugin("p")
    plugin.tool("forecast", parameters=Args)(lambda ctx, **kw: "x")
    [tool] = plugin.tools
    assert tool.model is Args
    assert tool.parameters == {
        "type": "object",
        "properties": {
            "address": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "city name"},
                    "title": {"type": "string"},
                },
                "required": ["city"],
            },
            "days": {"type": "integer", "default": 1, "minimum": 1, "maximum": 7},
            "note": {"type": "string"},
        },
        "required": ["address"],
    }


def test_tool_with_a_json_schema_dict_keeps_it() -> None:
    schema = {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}
    plugin = Plugin("p")
    plugin.tool("search", parameters=schema)(lambda ctx, **kw: "x")
    assert plugin.tools[0].parameters == schema and plugin.tools[0].model is None


@pytest.mark.parametrize(
    ("parameters", "message"),
    [
        ({"type": "string"}, "must describe an object"),
        ({"type": "object", "properties": {"q": {"type": 12}}}, "not a valid JSON Schema"),
        ("q: str", "JSON Schema dict or a pydantic model"),
    ],
)
def test_unusable_tool_parameters_are_refused(parameters: object, message: str) -> None:
    with pytest.raises(PluginDefinitionError, match=message):
        Plugin("p").tool("t", parameters=parameters)(lambda ctx: "x")  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["has space", "a" * 65, "dots.not.allowed"])
def test_bad_tool_names_are_refused(name: str) -> None:
    with pytest.raises(PluginDefinitionError, match="tool name"):
        Plugin("p").tool(name)(lambda ctx: "x")


def test_tool_registered_twice_is_refused() -> None:
    plugin = Plugin("p")
    plugin.tool("t")(lambda ctx: "x")
    with pytest.raises(PluginDefinitionError, match="registered twice"):
        plugin.tool("t")(lambda ctx: "y")


def test_public_api_exports_exactly_what_authors_need() -> None:
    from parley_runtime.plugins import api

    assert sorted(api.__all__) == api.__all__
    assert all(hasattr(api, name) for name in api.__all__)
    assert {"Plugin", "PluginConfig", "CommandContext", "ToolContext", "ToolError", "PluginServices"} <= set(
        api.__all__
    )
