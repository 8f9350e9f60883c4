"""Plugins from a package index: real wheels, a real simple index on 127.0.0.1, the real pip.

`parley serve` installs the pinned packages into the cache beside the manifest and the plugin
answers; a second start reuses the cache without pip (the index is gone by then); a bad pin stops
the start with one line. The cluster's init container arguments install into a folder the runtime
then loads from. pip runs without this machine's pip configuration (PIP_CONFIG_FILE=/dev/null),
so it sees only the test's index.
"""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from factories import chatbot_doc, dump_yaml
from fakes.package_index import PackageIndex, sha256_of
from fakes.ports import free_port
from parley_operator.render import plugin_packages, render_bot
from parley_runtime.app import bootstrap
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.models import ChatBot, PluginSpec
from parley_runtime.config.settings import RuntimeSettings
from parley_runtime.plugins import packages

PARLEY = [sys.executable, "-m", "parley_runtime.cli"]
MODULE = "parley_weather_test"
PACKAGE = "parley-weather-test==1.0.0"
SOURCE = """
from typing import Literal

from pydantic import Field

from parley_runtime.plugins.api import Plugin, PluginConfig


class Config(PluginConfig):
    default_city: str = Field("Paris", description="the city when none is named")
    units: Literal["metric", "imperial"] = "metric"


plugin = Plugin("weather", config_model=Config, description="Weather reports from a package")


@plugin.command("weather", description="Today's weather: /weather <city>")
async def weather(ctx, args):
    return f"weather in {args.strip() or ctx.config.default_city}: sunny ({ctx.config.units}, v{VERSION})"
"""


def pip_env() -> dict[str, str]:
    """This machine's environment minus its pip settings: only the index a test names is used."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    return {**env, "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1", "PARLEY_LOG_LEVEL": "INFO"}


@pytest.fixture(autouse=True)
def isolated_pip(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """In-process runs: pip sees only the test index; sys.path and imported plugin modules are
    put back afterwards."""
    for key in [k for k in os.environ if k.startswith("PIP_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.setattr(sys, "path", list(sys.path))
    yield
    for name in [m for m in sys.modules if m.split(".")[0] in (MODULE, "parley_other_test")]:
        del sys.modules[name]


@pytest.fixture(scope="module")
def index(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PackageIndex]:
    with PackageIndex(tmp_path_factory.mktemp("index")) as served:
        served.add_wheel("parley-weather-test", "1.0.0", MODULE, 'VERSION = "1.0.0"\n' + SOURCE, ["weather"])
        served.add_wheel(
            "parley-other-test",
            "1.0.0",
            "parley_other_test",
            "from parley_runtime.plugins.api import Plugin\nplugin = Plugin('forecast')\n",
            ["forecast"],
        )
        yield served


def manifest(folder: Path, plugins: list[dict[str, Any]], index_url: str | None) -> Path:
    """bot.yaml in `folder`, its index URL in `folder/secrets/pkg-index/url`."""
    folder.mkdir(parents=True, exist_ok=True)
    if index_url is not None:
        (folder / "secrets" / "pkg-index").mkdir(parents=True, exist_ok=True)
        (folder / "secrets" / "pkg-index" / "url").write_text(index_url + "\n")
    path = folder / "bot.yaml"
    path.write_text(dump_yaml(chatbot_doc("weatherbot", plugins=plugins)))
    return path


def weather(**extra: Any) -> dict[str, Any]:
    return {
        "name": "weather",
        "package": PACKAGE,
        "index": {"secretKeyRef": {"name": "pkg-index", "key": "url"}},
        **extra,
    }


def plain(**extra: Any) -> dict[str, Any]:
    """The weather plugin pinned without an index (pip's own index setting applies)."""
    return {"name": "weather", "package": PACKAGE, **extra}


class Serve:
    """`parley serve` as a subprocess; `log` holds its output once stopped."""

    def __init__(self, path: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.out = path.parent / f"serve-{self.port}.log"
        command = [*PARLEY, "serve", "-f", str(path), "--host", "127.0.0.1", "--port", str(self.port)]
        command += ["--secrets-dir", str(path.parent / "secrets"), "--data-dir", str(path.parent / "data")]
        with self.out.open("w") as out:
            self.proc = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, env=pip_env())

    def wait_healthy(self, deadline: float = 120.0) -> None:
        end = time.monotonic() + deadline
        while time.monotonic() < end:
            if self.proc.poll() is not None:
                raise AssertionError(f"parley serve exited early: {self.out.read_text()}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise AssertionError("parley serve did not become healthy")

    def stop(self) -> str:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        return self.out.read_text()


def chat(url: str, text: str) -> str:
    r = httpx.post(f"{url}/api/v1/chat", json={"message": text, "user_id": "u1"}, timeout=10)
    assert r.status_code == 200, r.text
    reply: str = r.json()["reply"]
    return reply


def cache_of(path: Path, plugins: list[dict[str, Any]]) -> Path:
    pins = packages.pinned([PluginSpec.model_validate(p) for p in plugins])
    assert pins is not None
    return packages.cache_folder(pins, path)


def test_serve_installs_once_then_reuses_the_cache(index: PackageIndex, tmp_path: Path) -> None:
    plugins = [weather(config={"defaultCity": "Berlin"})]
    path = manifest(tmp_path, plugins, index.url)
    first = Serve(path)
    try:
        first.wait_healthy()
        assert chat(first.url, "/weather") == "weather in Berlin: sunny (metric, v1.0.0)"
        assert chat(first.url, "/weather Oslo") == "weather in Oslo: sunny (metric, v1.0.0)"
    finally:
        log = first.stop()
    cache = cache_of(path, plugins)
    assert (cache / MODULE / "__init__.py").is_file()
    assert (cache / "parley_weather_test-1.0.0.dist-info").is_dir()
    assert "installing plugin packages" in log and index.url not in log
    assert [p.name for p in cache.parent.iterdir()] == [cache.name]  # no scratch folder left behind
    # The index is unreachable now: a second start that ran pip would fail.
    (tmp_path / "secrets" / "pkg-index" / "url").write_text("http://127.0.0.1:9/simple/\n")
    second = Serve(path)
    try:
        second.wait_healthy()
        assert chat(second.url, "/weather") == "weather in Berlin: sunny (metric, v1.0.0)"
    finally:
        log = second.stop()
    assert "plugin packages found in the cache" in log and "installing plugin packages" not in log


def test_a_bad_pin_stops_serve_with_one_line_and_leaves_no_cache(index: PackageIndex, tmp_path: Path) -> None:
    plugins = [{**weather(), "package": "parley-weather-test==9.9.9"}]
    path = manifest(tmp_path, plugins, index.url)
    command = [*PARLEY, "serve", "-f", str(path), "--secrets-dir", str(tmp_path / "secrets")]
    done = subprocess.run(command, capture_output=True, text=True, env=pip_env(), timeout=120, check=False)
    assert done.returncode == 2
    errors = [line for line in done.stderr.splitlines() if line.startswith("parley: error:")]
    assert errors == [
        f"parley: error: {path}: ChatBot/weatherbot: spec.plugins: pip could not install "
        "parley-weather-test==9.9.9: No matching distribution found for parley-weather-test==9.9.9"
    ]
    assert index.url not in done.stderr + done.stdout
    assert not cache_of(path, plugins).exists()


def specs(*plugins: dict[str, Any]) -> list[PluginSpec]:
    return [PluginSpec.model_validate(p) for p in plugins]


def prepare(
    path: Path, plugins: list[PluginSpec], index_url: str | None, folder: Path | None = None
) -> Path | None:
    return packages.prepare(
        plugins, source=str(path), subject="ChatBot/weatherbot", packages_dir=folder, index_url=index_url
    )


def test_hash_pinned_packages_install_and_a_wrong_hash_is_refused(
    index: PackageIndex, tmp_path: Path
) -> None:
    wheel = index.root / "files" / "parley_weather_test-1.0.0-py3-none-any.whl"
    good = specs(weather(hashes=[f"sha256:{sha256_of(wheel)}"]))
    folder = prepare(tmp_path / "a" / "bot.yaml", good, index.url)
    assert folder is not None and (folder / MODULE).is_dir()
    wrong = specs(weather(hashes=["sha256:" + "0" * 64]))
    with pytest.raises(ConfigError) as raised:
        prepare(tmp_path / "b" / "bot.yaml", wrong, index.url)
    (line,) = raised.value.problems
    assert line.startswith(
        f"{tmp_path / 'b' / 'bot.yaml'}: ChatBot/weatherbot: spec.plugins: pip could not install"
    )
    assert "HASHES" in line and index.url not in line


def test_a_package_that_lacks_the_named_plugin_is_refused(index: PackageIndex, tmp_path: Path) -> None:
    wrong = specs({**weather(), "package": "parley-other-test==1.0.0"})
    with pytest.raises(ConfigError) as raised:
        prepare(tmp_path / "bot.yaml", wrong, index.url)
    assert raised.value.problems == [
        f"{tmp_path / 'bot.yaml'}: ChatBot/weatherbot: spec.plugins: parley-other-test==1.0.0 provides no "
        "plugin 'weather' (its plugins: forecast)"
    ]


def test_an_environment_copy_of_another_version_is_refused(
    index: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    info = site / "parley_weather_test-0.9.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: parley-weather-test\nVersion: 0.9\n")
    monkeypatch.syspath_prepend(str(site))
    with pytest.raises(ConfigError) as raised:
        prepare(tmp_path / "bot.yaml", specs(weather()), index.url)
    assert raised.value.problems[0].endswith(
        "spec.plugins: parley-weather-test 0.9 installed in the Python environment shadows the pinned "
        "parley-weather-test==1.0.0; uninstall it there"
    )


def test_the_init_containers_pip_command_fills_a_folder_the_runtime_loads(
    index: PackageIndex, tmp_path: Path
) -> None:
    """The rendered arguments, run by this machine's pip with the index as its Secret would give it;
    then the runtime takes the folder as PARLEY_PLUGIN_PACKAGES_DIR and installs nothing."""
    bot = ChatBot.model_validate(chatbot_doc("weatherbot", plugins=[weather()]))
    engine = next(o for o in render_bot(bot, [], namespace="bots") if o["metadata"]["name"] == "weatherbot")
    (init,) = engine["spec"]["template"]["spec"]["initContainers"]
    target = tmp_path / "plugins"
    args = [str(target) if a == plugin_packages.PACKAGES_DIR else a for a in init["args"]]
    env = {**pip_env(), "PIP_INDEX_URL": index.url, "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "pip", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    folder = prepare(tmp_path / "bot.yaml", list(bot.spec.plugins), None, folder=target)
    assert folder == target and not (tmp_path / packages.CACHE_DIR).exists()
    assert str(target) == sys.path[-1]
    with pytest.raises(ConfigError, match=r"parley-weather-test==1.0.0 is not installed in .*empty"):
        prepare(tmp_path / "bot.yaml", list(bot.spec.plugins), None, folder=tmp_path / "empty")


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PARLEY, *args], capture_output=True, text=True, env=pip_env(), timeout=60, check=False
    )


@pytest.fixture(scope="module")
def installed(index: PackageIndex, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A manifest whose pinned package an earlier start installed into its cache (pip's index given
    the way a user's pip configuration would give it)."""
    path = manifest(tmp_path_factory.mktemp("installed"), [plain()], None)
    pins = packages.pinned(specs(plain()))
    assert pins is not None
    with pytest.MonkeyPatch.context() as mp:
        for key in [k for k in os.environ if k.startswith("PIP_")]:
            mp.delenv(key)
        mp.setenv("PIP_CONFIG_FILE", os.devnull)
        mp.setenv("PIP_INDEX_URL", index.url)
        packages.install(pins, packages.cache_folder(pins, path), index_url=None, where="test")
    return path


def test_plugins_list_shows_the_installed_package_with_its_config(installed: Path) -> None:
    done = cli("plugins", "list", "-f", str(installed))
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("weather "))
    assert lines[head].split(maxsplit=1)[1].split() == [
        "parley-weather-test",
        "1.0.0",
        "Weather",
        "reports",
        "from",
        "a",
        "package",
    ]
    assert lines[head + 1 : head + 3] == [
        '    defaultCity (string, default "Paris")  the city when none is named',
        '    units ("metric" | "imperial", default "metric")',
    ]
    assert any(line.startswith("clock ") and "built-in" in line for line in lines)
    # Without the manifest the package is not on this Python's path.
    assert not any(line.startswith("weather ") for line in cli("plugins", "list").stdout.splitlines())


def test_plugins_list_names_pinned_packages_not_installed_yet(tmp_path: Path) -> None:
    path = manifest(tmp_path, [weather()], None)
    done = cli("plugins", "list", "-f", str(path))
    assert done.returncode == 0
    (line,) = [line for line in done.stdout.splitlines() if line.startswith("weather ")]
    assert line.split(maxsplit=2) == [
        "weather",
        PACKAGE,
        "not installed (`parley serve -f FILE` installs it)",
    ]


def test_the_template_parses_and_validates(installed: Path, tmp_path: Path) -> None:
    done = cli("plugins", "template", "weather", "-f", str(installed))
    assert done.returncode == 0, done.stderr
    block = yaml.safe_load(done.stdout)
    assert block == {
        "plugins": [
            {"name": "weather", "package": PACKAGE, "config": {"defaultCity": "Paris", "units": "metric"}}
        ]
    }
    # Pasted into a manifest beside the installed one (same pinned set, so the same cache), it validates.
    pasted = installed.parent / "pasted.yaml"
    pasted.write_text(dump_yaml(chatbot_doc("pasted", plugins=block["plugins"])))
    checked = cli("validate", "-f", str(pasted))
    assert (checked.returncode, checked.stdout.strip(), checked.stderr) == (0, "ok: 1 object in 1 file", "")


def test_template_of_an_unknown_plugin_exits_2(tmp_path: Path) -> None:
    done = cli("plugins", "template", "nowhere")
    assert done.returncode == 2
    assert done.stderr.strip() == "parley: error: plugins template: plugin 'nowhere' is not installed here"


def test_validate_and_render_refuse_bad_config_of_an_importable_plugin(installed: Path) -> None:
    bad = installed.parent / "bad.yaml"
    bad.write_text(dump_yaml(chatbot_doc("bad", plugins=[plain(config={"units": "kelvin", "colour": 1})])))
    done = cli("validate", "-f", str(bad))
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.splitlines() == [
        f"{bad}: ChatBot/bad: spec.plugins[0].config.units: Input should be 'metric' or 'imperial'",
        f"{bad}: ChatBot/bad: spec.plugins[0].config.colour: unknown field",
    ]
    rendered = cli("render", "-f", str(bad))
    assert rendered.returncode == 2 and rendered.stdout == ""
    assert f"parley render: {bad}: ChatBot/bad: spec.plugins[0].config.colour: unknown field" in (
        rendered.stderr.splitlines()
    )


def test_validate_and_render_note_plugins_they_cannot_check(tmp_path: Path) -> None:
    path = manifest(tmp_path, [weather(config={"anything": "goes"})], None)
    note = (
        f"{path}: ChatBot/weatherbot: spec.plugins[0]: config not checked: plugin 'weather' ({PACKAGE}) "
        "is not installed here (run `parley serve` once to install it)"
    )
    done = cli("validate", "-f", str(path))
    assert (done.returncode, done.stdout.strip()) == (0, "ok: 1 object in 1 file")
    assert done.stderr.splitlines() == [f"note: {note}"]
    rendered = cli("render", "-f", str(path))
    assert rendered.returncode == 0 and "kind: Deployment" in rendered.stdout
    assert rendered.stderr.splitlines() == [f"parley render: note: {note}"]


def test_only_the_roles_that_install_need_the_index_secret(tmp_path: Path) -> None:
    """The gateway loads no plugins and its pod does not mount the index Secret."""
    path = manifest(tmp_path, [weather()], None)
    (tmp_path / "secrets").mkdir()
    common: dict[str, Any] = {
        "config_files": (path,),
        "secrets_dir": tmp_path / "secrets",
        "redis_url": "redis://127.0.0.1:1/0",
    }
    assert bootstrap.load(RuntimeSettings(role="gateway", **common)).name == "weatherbot"
    with pytest.raises(ConfigError) as raised:
        bootstrap.load(RuntimeSettings(role="engine", **common))
    assert raised.value.problems == [
        f"{path}: ChatBot/weatherbot: spec.plugins[0].index: "
        f"secret pkg-index/url not found in {tmp_path / 'secrets'}"
    ]
