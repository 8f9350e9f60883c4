"""What `parley plugins list|template` say about a plugin, and the config check `validate` runs."""

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, Field

from parley_runtime.config.models import ChatBot, PluginSpec
from parley_runtime.plugins import catalog, discovery
from parley_runtime.plugins.api import Plugin, PluginConfig
from unit.operator.operator_factories import chatbot_doc


class Place(BaseModel):
    lat: float = 48.85
    lon: float = 2.35


class WeatherConfig(PluginConfig):
    api_key_name: str = Field(description="which   header\ncarries the key")
    default_city: str = "Paris"
    units: Literal["metric", "imperial"] = "metric"
    cities: list[str] = Field(default_factory=lambda: ["Paris", "Berlin"])
    home: Place = Place()
    timeout_seconds: float | None = None


WEATHER: Plugin[WeatherConfig] = Plugin("weather", config_model=WeatherConfig, description="Weather reports")


def weather_entry() -> catalog.Entry:
    return catalog.entry(discovery.Source("weather", "object", "tests:WEATHER", WEATHER))


def test_config_fields_show_yaml_keys_types_defaults_and_what_is_required() -> None:
    fields = {f.key: f for f in weather_entry().fields}
    assert list(fields) == ["apiKeyName", "defaultCity", "units", "cities", "home", "timeoutSeconds"]
    assert fields["apiKeyName"].required and fields["apiKeyName"].default is None
    assert fields["apiKeyName"].type == "string"
    assert fields["apiKeyName"].description == "which header carries the key"
    assert (fields["defaultCity"].default, fields["defaultCity"].required) == ("Paris", False)
    assert fields["units"].type == '"metric" | "imperial"'
    assert (fields["cities"].type, fields["cities"].default) == ("list of string", ["Paris", "Berlin"])
    assert fields["home"].default == {"lat": 48.85, "lon": 2.35} and fields["home"].type == "object"
    assert (fields["timeoutSeconds"].type, fields["timeoutSeconds"].default) == ("number", None)


def test_a_plugin_without_config_has_no_fields() -> None:
    bare = Plugin("bare")
    entry = catalog.entry(discovery.Source("bare", "object", "x", bare))
    assert entry.fields == []
    assert catalog.template(entry) == "plugins:\n  - name: bare\n"


def test_the_template_is_a_plugins_block_whose_defaults_validate() -> None:
    text = catalog.template(weather_entry(), "parley-weather==1.2.0")
    block = yaml.safe_load(text)
    (item,) = block["plugins"]
    spec = PluginSpec.model_validate(item)
    assert spec.package == "parley-weather==1.2.0"
    assert spec.config["defaultCity"] == "Paris" and spec.config["home"] == {"lat": 48.85, "lon": 2.35}
    # The one required field is null, with a comment saying what it needs, so validate points at it.
    assert "      apiKeyName: null  # required, string; which header carries the key\n" in text
    filled = WeatherConfig.model_validate({**spec.config, "apiKeyName": "X-Key"})
    assert filled.default_city == "Paris" and filled.cities == ["Paris", "Berlin"]
    ChatBot.model_validate(chatbot_doc(plugins=block["plugins"]))


def test_builtins_are_listed_with_their_origin() -> None:
    found = {e.name: e for e in catalog.entries()}
    assert {"clock", "help", "reset", "http-fetch"} <= set(found)
    assert found["clock"].origin == "built-in" and found["clock"].plugin is not None
    assert found["clock"].package is None


def test_a_folder_plugin_is_listed_from_its_folder(tmp_path: Path) -> None:
    (tmp_path / "echo2.py").write_text(
        "from parley_runtime.plugins.api import Plugin\nplugin = Plugin('echo2', description='Echoes')\n"
    )
    (tmp_path / "broken.py").write_text("raise RuntimeError('nope')\n")
    found = {e.name: e for e in catalog.entries(tmp_path)}
    assert found["echo2"].origin == f"folder {tmp_path / 'echo2.py'}"
    assert found["broken"].plugin is None and "RuntimeError: nope" in (found["broken"].problem or "")


def findings(plugins: list[dict[str, object]], tmp_path: Path) -> list[catalog.Finding]:
    bot = ChatBot.model_validate(chatbot_doc(plugins=plugins))
    return catalog.check_bot(bot, str(tmp_path / "bot.yaml"))


def test_bad_config_of_an_importable_plugin_is_an_error(tmp_path: Path) -> None:
    got = findings(
        [{"name": "clock", "config": {"defaultTimezone": 5}}, {"name": "http-fetch", "config": {"x": 1}}],
        tmp_path,
    )
    assert got == [
        ("error", "spec.plugins[0].config.defaultTimezone", "Input should be a valid string"),
        ("error", "spec.plugins[1].config.allowHosts", "required field is missing"),
        ("error", "spec.plugins[1].config.x", "unknown field"),
    ]


def test_good_config_and_disabled_plugins_give_nothing(tmp_path: Path) -> None:
    plugins: list[dict[str, object]] = [
        {"name": "clock", "config": {"defaultTimezone": "Asia/Shanghai"}},
        {"name": "http-fetch", "enabled": False, "config": {"nonsense": True}},
    ]
    assert findings(plugins, tmp_path) == []


def test_plugins_not_installed_here_are_notes_not_errors(tmp_path: Path) -> None:
    got = findings(
        [
            {"name": "weather-nowhere", "package": "parley-weather-nowhere==1.2.0", "config": {"a": 1}},
            {"name": "my-folder-plugin", "config": {"b": 2}},
        ],
        tmp_path,
    )
    assert got == [
        (
            "note",
            "spec.plugins[0]",
            "config not checked: plugin 'weather-nowhere' (parley-weather-nowhere==1.2.0) is not installed "
            "here (run `parley serve` once to install it)",
        ),
        (
            "note",
            "spec.plugins[1]",
            "config not checked: plugin 'my-folder-plugin' is not installed here (a folder plugin?)",
        ),
    ]
