"""Folder plugins: discovered from a directory, and hot-reloaded when their source changes."""

import asyncio
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from parley_runtime.config.errors import ConfigError
from parley_runtime.core.chat import ToolCall
from parley_runtime.plugins.host import PluginHost

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "plugins"

Make = Callable[..., Any]

GREET = """
from parley_runtime.plugins.api import Plugin, PluginConfig

class Config(PluginConfig):
    log_file: str = ""
{extra_config}

plugin = Plugin("greet", config_model=Config)

def record(ctx, event):
    if ctx.config.log_file:
        with open(ctx.config.log_file, "a") as f:
            f.write(event + "\\n")

plugin.on_startup(lambda ctx: record(ctx, "{version} up"))
plugin.on_shutdown(lambda ctx: record(ctx, "{version} down"))

@plugin.command("{command}")
def greet(ctx, args):
    return "{version}: hello " + args
"""


def write_greet(folder: Path, version: str, *, command: str = "greet", extra_config: str = "") -> None:
    source = GREET.format(version=version, command=command, extra_config=extra_config)
    (folder / "greet.py").write_text(source, encoding="utf-8")


async def test_sample_folder_plugins_are_discovered(load_host: Make, make_message: Make) -> None:
    host: PluginHost = load_host(
        [{"name": "weather", "config": {"defaultCity": "Paris"}}, {"name": "shout"}], plugins_dir=SAMPLES
    )
    assert host.enabled == ("help", "reset", "weather", "shout")
    assert await host.dispatch(make_message("/weather")) == "Paris: light rain, 21°C"
    assert await host.dispatch(make_message("/w 北京")) == "北京: light rain, 21°C"
    assert await host.dispatch(make_message("需要带雨伞吗")) == "Take one: Paris: light rain, 21°C"
    assert await host.dispatch(make_message("/shout hi")) == "HI!"
    answer = await host.call_tool(
        ToolCall(id="1", name="get_forecast", arguments='{"city": "Oslo"}'), make_message()
    )
    assert answer == "Oslo: light rain, 21°C"
    help_text = await host.dispatch(make_message("/help"))
    assert help_text is not None and "/weather (also /w) — the forecast: /weather <city>" in help_text
    await host.aclose()


def test_folder_plugins_are_offered_and_their_config_checked(load_host: Make) -> None:
    with pytest.raises(ConfigError) as raised:
        load_host(
            [{"name": "wheather"}, {"name": "weather", "config": {"units": "kelvin"}}], plugins_dir=SAMPLES
        )
    assert raised.value.problems == [
        "bot.yaml: spec.plugins[0].name: unknown plugin 'wheather' "
        "(available: clock, help, http-fetch, reset, shout, weather)",
        "bot.yaml: spec.plugins[1].config.units: String should match pattern '^(metric|imperial)$'",
    ]


def test_a_broken_folder_plugin_fails_the_load_with_one_line(tmp_path: Path, load_host: Make) -> None:
    (tmp_path / "broken.py").write_text("plugin = (\n", encoding="utf-8")
    (tmp_path / "empty.py").write_text("x = 1\n", encoding="utf-8")
    with pytest.raises(ConfigError) as raised:
        load_host([{"name": "broken"}, {"name": "empty"}], plugins_dir=tmp_path)
    first, second = raised.value.problems
    assert first.startswith("bot.yaml: spec.plugins[0].name: plugin 'broken' cannot be loaded: ")
    assert "broken.py: SyntaxError: " in first
    assert second.endswith("empty.py has no module-level `plugin` (expected `plugin = Plugin('empty', ...)`)")


async def test_hot_reload_swaps_in_new_versions_and_keeps_the_last_good_one(
    tmp_path: Path, load_host: Make, make_message: Make, caplog: pytest.LogCaptureFixture
) -> None:
    write_greet(tmp_path, "v1")
    host: PluginHost = load_host([{"name": "greet"}], plugins_dir=tmp_path)
    assert await host.dispatch(make_message("/greet Ada")) == "v1: hello Ada"
    assert host.reload_changed() == []

    write_greet(tmp_path, "v2")
    assert host.reload_changed() == ["greet"]
    assert await host.dispatch(make_message("/greet Ada")) == "v2: hello Ada"

    (tmp_path / "greet.py").write_text("from parley_runtime.plugins.api import Plugin\nplugin = Plugin(\n")
    with caplog.at_level(logging.ERROR, logger="parley.plugin.greet"):
        assert host.reload_changed() == []
        assert host.reload_changed() == []  # a broken source is reported once, not on every poll
    assert await host.dispatch(make_message("/greet Ada")) == "v2: hello Ada"
    [record] = caplog.records
    assert "not reloaded, the previous version stays active" in record.getMessage()
    assert "SyntaxError" in record.getMessage()

    (tmp_path / "greet.py").write_text("raise RuntimeError('half-written file')\n")
    assert host.reload_changed() == []
    assert await host.dispatch(make_message("/greet Ada")) == "v2: hello Ada"

    write_greet(tmp_path, "v5")
    assert host.reload_changed() == ["greet"]
    assert await host.dispatch(make_message("/greet Ada")) == "v5: hello Ada"
    await host.aclose()


async def test_reload_keeps_the_old_version_when_config_or_names_no_longer_fit(
    tmp_path: Path, load_host: Make, make_message: Make
) -> None:
    write_greet(tmp_path, "v1")
    host: PluginHost = load_host([{"name": "greet"}], plugins_dir=tmp_path)
    write_greet(tmp_path, "v2", extra_config="    api_key_name: str")  # now requires a config field
    assert host.reload_changed() == []
    write_greet(tmp_path, "v3", command="help")  # clashes with the built-in /help
    assert host.reload_changed() == []
    assert await host.dispatch(make_message("/greet x")) == "v1: hello x"
    (tmp_path / "greet.py").unlink()
    assert host.reload_changed() == []
    assert await host.dispatch(make_message("/greet x")) == "v1: hello x"


async def test_reload_runs_lifecycle_hooks_of_both_versions(
    tmp_path: Path, load_host: Make, make_message: Make
) -> None:
    events = tmp_path / "events.log"
    plugins = tmp_path / "plugins"
    plugins.mkdir()
    write_greet(plugins, "v1")
    host: PluginHost = load_host([{"name": "greet", "config": {"logFile": str(events)}}], plugins_dir=plugins)
    await host.start()
    write_greet(plugins, "v2")
    assert host.reload_changed() == ["greet"]
    assert await host.dispatch(make_message("/greet x")) == "v2: hello x"
    await host.aclose()
    assert events.read_text().split("\n") == ["v1 up", "v2 up", "v1 down", "v2 down", ""]


async def test_package_plugin_reloads_when_a_submodule_changes(
    tmp_path: Path, load_host: Make, make_message: Make
) -> None:
    shutil.copytree(SAMPLES / "weather", tmp_path / "weather")
    host: PluginHost = load_host([{"name": "weather"}], plugins_dir=tmp_path)
    assert await host.dispatch(make_message("/weather Oslo")) == "Oslo: light rain, 21°C"
    forecast = tmp_path / "weather" / "forecast.py"
    forecast.write_text(forecast.read_text(encoding="utf-8").replace("light rain", "snow"), encoding="utf-8")
    assert host.reload_changed() == ["weather"]
    assert await host.dispatch(make_message("/weather Oslo")) == "Oslo: snow, 21°C"
    assert caches(tmp_path) == []  # the plugin folder is left as the user wrote it


def caches(folder: Path) -> list[Path]:
    return list(folder.rglob("__pycache__"))


async def test_watch_task_picks_up_changes(tmp_path: Path, load_host: Make, make_message: Make) -> None:
    write_greet(tmp_path, "v1")
    host: PluginHost = load_host([{"name": "greet"}], plugins_dir=tmp_path)
    watcher = asyncio.create_task(host.watch(poll_seconds=0.01))
    try:
        write_greet(tmp_path, "v2")

        replies = []
        for _ in range(1000):  # up to ~10 s on a loaded machine; normally a few polls
            replies.append(await host.dispatch(make_message("/greet x")))
            if replies[-1] == "v2: hello x":
                break
            await asyncio.sleep(0.01)
        assert replies[-1] == "v2: hello x"
        assert set(replies) <= {"v1: hello x", "v2: hello x"}
    finally:
        watcher.cancel()
        with pytest.raises(asyncio.CancelledError):
            await watcher
    await host.aclose()
