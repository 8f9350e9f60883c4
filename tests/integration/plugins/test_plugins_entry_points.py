"""Entry-point plugins: a real installed distribution (dist-info + entry_points.txt) on sys.path."""

import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from parley_runtime.config.errors import ConfigError
from parley_runtime.plugins.host import PluginHost

Make = Callable[..., Any]

MODULE = """
from parley_runtime.plugins.api import Plugin, PluginConfig

class Config(PluginConfig):
    suffix: str = "!"

plugin = Plugin("loud", config_model=Config, description="from a package")
not_a_plugin = object()

@plugin.command("loud", description="capitals")
async def loud(ctx, args):
    return args.upper() + ctx.config.suffix
"""


@pytest.fixture
def distribution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Installs `parley-loud` into a fresh site dir, the way pip lays out a wheel; yields its module."""
    module = f"parley_loud_{tmp_path.name.replace('-', '_')}"
    site = tmp_path / "site"
    (site / module).mkdir(parents=True)
    (site / module / "__init__.py").write_text(MODULE, encoding="utf-8")
    info = site / "parley_loud-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: parley-loud\nVersion: 1.0\n", encoding="utf-8"
    )
    (info / "entry_points.txt").write_text(
        "[parley.plugins]\n"
        f"loud = {module}:plugin\n"
        f"fake = {module}:not_a_plugin\n"
        f"renamed = {module}:plugin\n"
        "missing = parley_loud_no_such_module:plugin\n",
        encoding="utf-8",
    )
    monkeypatch.syspath_prepend(str(site))
    yield module
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        del sys.modules[name]


async def test_entry_point_plugin_is_found_and_configured(
    distribution: str, load_host: Make, make_message: Make
) -> None:
    host: PluginHost = load_host([{"name": "loud", "config": {"suffix": "!!"}}])
    assert host.enabled == ("help", "reset", "loud")
    assert await host.dispatch(make_message("/loud hello")) == "HELLO!!"


def test_entry_points_are_listed_and_checked(distribution: str, load_host: Make) -> None:
    with pytest.raises(ConfigError) as raised:
        load_host([{"name": "fake"}, {"name": "renamed"}, {"name": "missing"}, {"name": "lodu"}])
    fake, renamed, missing, unknown = raised.value.problems
    assert fake == (
        f"bot.yaml: spec.plugins[0].name: plugin 'fake' cannot be loaded: {distribution}:not_a_plugin "
        "is not a Plugin (expected `plugin = Plugin('fake', ...)`)"
    )
    assert renamed.endswith(f"{distribution}:plugin defines Plugin('loud'), not 'renamed'")
    assert missing == (
        "bot.yaml: spec.plugins[2].name: plugin 'missing' cannot be loaded: "
        "parley_loud_no_such_module:plugin: "
        "ModuleNotFoundError: No module named 'parley_loud_no_such_module'"
    )
    assert unknown.startswith("bot.yaml: spec.plugins[3].name: unknown plugin 'lodu' (available: ")
    assert "fake, help, http-fetch, loud, missing, renamed, reset" in unknown
