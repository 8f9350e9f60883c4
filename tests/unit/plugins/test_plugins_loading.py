"""`PluginHost.load`: every problem with spec.plugins is one line naming the file and field path."""

from typing import Any

import pytest

from parley_runtime.config.errors import ConfigError
from parley_runtime.config.models import PluginSpec
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.api import Plugin, PluginConfig, PluginServices
from parley_runtime.plugins.host import PluginHost


def load(specs: list[dict[str, Any]], services: PluginServices, **kw: Any) -> PluginHost:
    return PluginHost.load(
        [PluginSpec.model_validate(s) for s in specs],
        services=services,
        metrics=Metrics(),
        source="bot.yaml",
        **kw,
    )


def problems(specs: list[dict[str, Any]], services: PluginServices) -> list[str]:
    with pytest.raises(ConfigError) as raised:
        load(specs, services)
    return raised.value.problems


def test_help_and_reset_are_on_without_being_listed(services: PluginServices) -> None:
    assert load([], services).enabled == ("help", "reset")
    assert load([{"name": "clock"}], services).enabled == ("help", "reset", "clock")


def test_listed_plugins_keep_manifest_order_and_disabled_ones_are_skipped(services: PluginServices) -> None:
    host = load(
        [
            {"name": "http-fetch", "config": {"allowHosts": ["example.com"]}},
            {"name": "reset"},
            {"name": "clock", "enabled": False},
            {"name": "help", "enabled": False},
        ],
        services,
    )
    assert host.enabled == ("http-fetch", "reset")


def test_unknown_plugin_names_the_field_and_the_choices(services: PluginServices) -> None:
    assert problems([{"name": "clock"}, {"name": "wether"}], services) == [
        "bot.yaml: spec.plugins[1].name: unknown plugin 'wether' (available: clock, help, http-fetch, reset)"
    ]


def test_config_validation_errors_name_the_path(services: PluginServices) -> None:
    found = problems(
        [
            {"name": "http-fetch", "config": {"allowHosts": "example.com", "maxBytes": 5, "colour": "red"}},
            {"name": "clock", "config": {"defaultTimezone": "Mars/Olympus"}},
        ],
        services,
    )
    assert found == [
        "bot.yaml: spec.plugins[0].config.allowHosts: Input should be a valid list",
        "bot.yaml: spec.plugins[0].config.maxBytes: Input should be greater than or equal to 256",
        "bot.yaml: spec.plugins[0].config.colour: unknown field",
        "bot.yaml: spec.plugins[1].config.defaultTimezone: unknown timezone 'Mars/Olympus'; "
        "use an IANA name such as Asia/Shanghai or UTC",
    ]


def test_missing_required_config_and_bad_list_item(services: PluginServices) -> None:
    assert problems([{"name": "http-fetch"}], services) == [
        "bot.yaml: spec.plugins[0].config.allowHosts: required field is missing"
    ]
    [line] = problems(
        [{"name": "http-fetch", "config": {"allowHosts": ["ok.example", "https://x.example/"]}}], services
    )
    assert line.startswith(
        "bot.yaml: spec.plugins[0].config.allowHosts[1]: 'https://x.example/' is not a host name"
    )


def test_plugin_without_config_model_rejects_config(services: PluginServices) -> None:
    assert problems([{"name": "help", "config": {"verbose": True}}], services) == [
        "bot.yaml: spec.plugins[0].config.verbose: unknown field"
    ]


def test_a_plugin_listed_twice_is_an_error(services: PluginServices) -> None:
    assert problems([{"name": "clock"}, {"name": "clock"}], services) == [
        "bot.yaml: spec.plugins[1].name: plugin 'clock' is listed twice (see spec.plugins[0])"
    ]


def test_config_error_is_one_line_for_the_cli(services: PluginServices) -> None:
    with pytest.raises(ConfigError) as raised:
        load([{"name": "nope"}, {"name": "nada"}], services)
    assert "\n" not in str(raised.value) and str(raised.value).endswith("(and 1 more problem)")


class LimitConfig(PluginConfig):
    per_day: int


def test_from_plugins_validates_configs_too(services: PluginServices) -> None:
    plugin = Plugin("limits", config_model=LimitConfig)
    with pytest.raises(ConfigError) as raised:
        PluginHost.from_plugins(
            [plugin], services=services, metrics=Metrics(), configs={"limits": {"perDay": "x"}}
        )
    assert raised.value.problems == [
        "<plugins>: spec.plugins[0].config.perDay: "
        "Input should be a valid integer, unable to parse string as an integer"
    ]


def test_command_and_tool_clashes_are_blamed_on_the_later_plugin(services: PluginServices) -> None:
    one, two = Plugin("one"), Plugin("two")
    one.command("status")(lambda ctx, args: "1")
    two.command("state", aliases=("status",))(lambda ctx, args: "2")
    one.tool("lookup")(lambda ctx: "1")
    two.tool("lookup")(lambda ctx: "2")
    with pytest.raises(ConfigError) as raised:
        PluginHost.from_plugins([one, two], services=services, metrics=Metrics())
    assert raised.value.problems == [
        "<plugins>: spec.plugins[1].name: command /status is already defined by plugin 'one'",
        "<plugins>: spec.plugins[1].name: tool 'lookup' is already defined by plugin 'one'",
    ]


def test_a_user_plugin_may_not_silently_take_over_help(services: PluginServices) -> None:
    mine = Plugin("mine")
    mine.command("help")(lambda ctx, args: "my help")
    with pytest.raises(ConfigError, match="command /help is already defined by plugin 'help'"):
        PluginHost.from_plugins([mine], services=services, metrics=Metrics())
    host = PluginHost.from_plugins([mine], services=services, metrics=Metrics(), builtins=False)
    assert host.enabled == ("mine",)
