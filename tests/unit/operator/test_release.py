"""What a track runs (`release`): the config a canary may change, its hash, the overlay and the canary's
identity — and the canary's own ConfigMap that render builds from them."""

import json
from typing import Any

import pytest
import yaml

from parley_operator import release
from parley_operator.release import Release
from parley_operator.render import render_bot
from parley_operator.render.bot import canary_bot
from parley_runtime.config.models import Canary
from unit.operator.operator_factories import by_kind_name, chatbot_doc, make_binding, make_chatbot

STEPS = [{"setWeight": 10}, {"pause": {}}]
ROUTE = {
    "name": "main",
    "provider": "openai-compatible",
    "baseURL": "https://api.deepseek.com/v1",
    "model": "deepseek-chat",
    "apiKey": {"secretKeyRef": {"name": "llm", "key": "deepseek"}},
}


def canary(**fields: Any) -> Canary:
    return Canary.model_validate({"steps": STEPS, **fields})


def test_the_config_hash_ignores_defaults_written_out_and_key_order() -> None:
    plain = make_chatbot(persona={"systemPrompt": "Hi"})
    explicit = make_chatbot(
        persona={"language": None, "systemPrompt": "Hi"},
        models={"routes": [{**ROUTE, "weight": 100, "priority": 0, "timeout": "60s"}]},
        plugins=[],
    )
    assert Release.of(plain.spec).config_hash == Release.of(explicit.spec).config_hash
    assert Release.of(plain.spec).config == {
        "persona": {"systemPrompt": "Hi"},
        "models": {"routes": [ROUTE]},
        "plugins": [],
    }
    other = make_chatbot(persona={"systemPrompt": "Hello"})
    assert Release.of(other.spec).config_hash != Release.of(plain.spec).config_hash


def test_a_canary_is_named_by_what_it_changes() -> None:
    a = release.overlay_hash(canary(persona={"systemPrompt": "v2"}))
    assert a == release.overlay_hash(canary(persona={"systemPrompt": "v2"}, steps=[{"setWeight": 50}]))
    assert a == release.overlay_hash(canary(persona={"systemPrompt": "v2"}, analysis={"minSamples": 5}))
    assert a != release.overlay_hash(canary(persona={"systemPrompt": "v3"}))
    assert a != release.overlay_hash(canary(persona={"systemPrompt": "v2"}, version="1.5.0"))
    assert release.overlay_of(canary(version="1.5.0", plugins=[{"name": "weather"}])) == {
        "version": "1.5.0",
        "plugins": [{"name": "weather"}],
    }


def test_an_overlay_replaces_whole_fields_and_keeps_the_others() -> None:
    stable = Release.of(make_chatbot(persona={"systemPrompt": "v1", "language": "zh-CN"}).spec)
    laid = stable.over(release.overlay_of(canary(persona={"systemPrompt": "v2"})))
    assert laid.version == "1.4.0"
    assert laid.config["persona"] == {"systemPrompt": "v2"}  # the whole persona: no language left over
    assert laid.config["models"] == stable.config["models"]
    assert stable.over({"version": "2.0.0"}).version == "2.0.0"


@pytest.mark.parametrize(
    ("changes", "valid"),
    [
        ({}, False),
        ({"version": "1.5.0"}, True),
        ({"persona": {"systemPrompt": "x"}}, True),
        ({"models": {"routes": [ROUTE]}}, True),
        ({"plugins": []}, True),  # turning every plugin off is a change too
    ],
)
def test_a_canary_changes_at_least_one_field(changes: dict[str, Any], valid: bool) -> None:
    if valid:
        assert canary(**changes).changes == tuple(changes)
    else:
        with pytest.raises(ValueError, match="a canary changes at least one of version, persona"):
            canary(**changes)


def test_canary_version_equal_to_version_is_still_refused() -> None:
    with pytest.raises(ValueError, match=r"canary\.version must differ"):
        make_chatbot(canary={"version": "1.4.0", "steps": STEPS})
    make_chatbot(canary={"persona": {"systemPrompt": "x"}, "steps": STEPS})  # no version: fine


def test_an_overlay_read_back_from_status_is_checked() -> None:
    assert release.checked({"persona": {"systemPrompt": "x"}, "version": "2"}) == {
        "version": "2",
        "persona": {"systemPrompt": "x"},
    }
    assert release.checked({"models": {"routes": []}}) is None  # a route list may not be empty
    assert release.checked({"persona": {"nonsense": 1}}) is None
    assert release.checked("text") is None


def _bot_yaml(objects: dict[tuple[str, str], dict[str, Any]], name: str) -> dict[str, Any]:
    return dict(yaml.safe_load_all(objects[("ConfigMap", name)]["data"]["bot.yaml"]).__next__())


def test_the_canary_runs_its_own_config_the_stable_config_laid_over() -> None:
    overlay = {
        "persona": {"systemPrompt": "v2"},
        "models": {"routes": [{**ROUTE, "model": "deepseek-reasoner"}]},
    }
    bot = make_chatbot(persona={"systemPrompt": "v1", "language": "en"}, canary={**overlay, "steps": STEPS})
    objects = by_kind_name(render_bot(bot, [make_binding()], namespace="bots"))
    stable, laid = _bot_yaml(objects, "helpdesk-config"), _bot_yaml(objects, "helpdesk-canary-config")
    assert stable["spec"]["persona"] == {"systemPrompt": "v1", "language": "en"}
    assert laid["spec"]["persona"] == {"systemPrompt": "v2"}
    assert laid["spec"]["models"]["routes"][0]["model"] == "deepseek-reasoner"
    assert stable["spec"]["models"]["routes"][0]["model"] == "deepseek-chat"
    assert laid["spec"]["version"] == stable["spec"]["version"] == "1.4.0"
    assert {k: v for k, v in laid["spec"].items() if k not in ("persona", "models")} == {
        k: v for k, v in stable["spec"].items() if k not in ("persona", "models")
    }
    canary_cm = objects[("ConfigMap", "helpdesk-canary-config")]
    assert canary_cm["metadata"]["labels"]["parley.dev/track"] == "canary"
    pod = objects[("Deployment", "helpdesk-canary")]["spec"]["template"]
    [config] = [v for v in pod["spec"]["volumes"] if v["name"] == "config"]
    assert config["configMap"]["name"] == "helpdesk-canary-config"
    stable_pod = objects[("Deployment", "helpdesk")]["spec"]["template"]
    [stable_config] = [v for v in stable_pod["spec"]["volumes"] if v["name"] == "config"]
    assert stable_config["configMap"]["name"] == "helpdesk-config"


def test_a_canary_route_key_is_mounted_in_the_canary_only() -> None:
    key = {"secretKeyRef": {"name": "llm-next", "key": "token"}}
    bot = make_chatbot(canary={"models": {"routes": [{**ROUTE, "apiKey": key}]}, "steps": STEPS})
    objects = by_kind_name(render_bot(bot, [], namespace="bots"))

    def secrets(name: str) -> set[str]:
        volumes = objects[("Deployment", name)]["spec"]["template"]["spec"]["volumes"]
        return {v["secret"]["secretName"] for v in volumes if "secret" in v}

    assert "llm-next" in secrets("helpdesk-canary") and "llm" not in secrets("helpdesk-canary")
    assert "llm-next" not in secrets("helpdesk") and "llm" in secrets("helpdesk")


def test_a_config_canary_runs_the_stable_version_and_the_route_file_says_so() -> None:
    bot = make_chatbot(canary={"plugins": [{"name": "weather"}], "steps": STEPS})
    assert canary_bot(bot).spec.version == "1.4.0"
    assert canary_bot(bot, "1.5.0").spec.version == "1.5.0"  # a promoted stable version underneath
    objects = by_kind_name(render_bot(bot, [], namespace="bots", canary_weight=10))
    routes = json.loads(objects[("ConfigMap", "helpdesk-routes")]["data"]["routes.json"])
    assert routes["canaryVersion"] == routes["stableVersion"] == "1.4.0"
    image = objects[("Deployment", "helpdesk-canary")]["spec"]["template"]["spec"]["containers"][0]["image"]
    assert image.endswith(":1.4.0")


def test_apply_to_runs_a_release_on_the_bot() -> None:
    bot = make_chatbot(canary={"version": "2.0.0", "steps": STEPS})
    promoted = Release("2.0.0", {**Release.of(bot.spec).config, "persona": {"systemPrompt": "v2"}})
    ran = promoted.apply_to(bot)
    assert (ran.spec.version, ran.spec.persona.system_prompt, ran.spec.canary) == ("2.0.0", "v2", None)
    assert Release.of(ran.spec).same_as(promoted)
    assert ran.spec.scaling == bot.spec.scaling and ran.metadata == bot.metadata
    assert chatbot_doc()["spec"]["version"] == "1.4.0"
