"""`spec.plugins[].package`, `index` and `hashes`: what the manifest accepts and refuses."""

from typing import Any

import pytest
from pydantic import ValidationError

from parley_runtime.config.models import ChatBot, PluginSpec
from parley_runtime.config.secrets import secret_refs
from unit.operator.operator_factories import chatbot_doc

SHA = "sha256:" + "a" * 64
INDEX = {"secretKeyRef": {"name": "pkg-index", "key": "url"}}


@pytest.mark.parametrize(
    "package",
    ["parley-weather==1.2.0", "Parley_Weather.x==1.2.0rc1", "parley-weather[speech,maps]==2!1.0+local.1"],
)
def test_pinned_requirements_are_accepted(package: str) -> None:
    assert PluginSpec(name="weather", package=package).package == package


@pytest.mark.parametrize(
    "package",
    [
        "parley-weather",  # not pinned
        "parley-weather>=1.2",  # a range
        "parley-weather===1.2.0",  # arbitrary equality
        "parley-weather==1.2.0; python_version>'3'",  # markers
        "git+https://example.com/parley-weather.git",  # a URL
        "./parley_weather-1.2.0-py3-none-any.whl",  # a path
        "parley-weather==1.2.0 --index-url=http://evil",  # an option smuggled in
    ],
)
def test_anything_but_an_exact_pin_is_refused(package: str) -> None:
    with pytest.raises(ValidationError, match="package"):
        PluginSpec(name="weather", package=package)


def test_requirement_line_carries_the_hashes() -> None:
    spec = PluginSpec.model_validate(
        {"name": "weather", "package": "parley-weather==1.2.0", "hashes": [SHA, "sha512:" + "b" * 128]}
    )
    assert spec.requirement == f"parley-weather==1.2.0 --hash={SHA} --hash=sha512:{'b' * 128}"
    assert PluginSpec(name="clock").requirement is None


@pytest.mark.parametrize("bad", ["sha256:" + "a" * 63, "md5:" + "a" * 32, "sha256:" + "A" * 64])
def test_malformed_hashes_are_refused(bad: str) -> None:
    with pytest.raises(ValidationError, match="hashes"):
        PluginSpec.model_validate({"name": "w", "package": "w==1", "hashes": [bad]})


@pytest.mark.parametrize("extra", [{"index": INDEX}, {"hashes": [SHA]}])
def test_index_and_hashes_need_a_package(extra: dict[str, Any]) -> None:
    with pytest.raises(ValidationError, match="apply only to a plugin with a package"):
        PluginSpec.model_validate({"name": "clock", **extra})


def _bot(plugins: list[dict[str, Any]]) -> ChatBot:
    return ChatBot.model_validate(chatbot_doc(plugins=plugins))


def test_one_pip_run_means_one_index() -> None:
    other = {"secretKeyRef": {"name": "other-index", "key": "url"}}
    with pytest.raises(ValidationError, match="same index"):
        _bot(
            [
                {"name": "a", "package": "a==1", "index": INDEX},
                {"name": "b", "package": "b==1", "index": other},
            ]
        )
    # The same index twice, or once, is one run.
    _bot([{"name": "a", "package": "a==1", "index": INDEX}, {"name": "b", "package": "b==1", "index": INDEX}])
    _bot([{"name": "a", "package": "a==1", "index": INDEX}, {"name": "b", "package": "b==1"}])


def test_hashes_for_every_package_or_none() -> None:
    with pytest.raises(ValidationError, match="hashes for every package or none"):
        _bot([{"name": "a", "package": "a==1", "hashes": [SHA]}, {"name": "b", "package": "b==1"}])
    _bot([{"name": "a", "package": "a==1", "hashes": [SHA]}, {"name": "clock"}])


def test_the_index_is_a_secret_reference_like_any_other() -> None:
    bot = _bot([{"name": "clock"}, {"name": "a", "package": "a==1", "index": INDEX}])
    refs = dict(secret_refs(bot))
    assert refs["spec.plugins[1].index"].secret_key_ref.name == "pkg-index"
