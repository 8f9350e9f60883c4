"""The config and routes ConfigMaps, the internal Secret and the pods' config checksum."""

import json
from typing import Any

import yaml

from parley_operator.render import render_bot
from parley_runtime.config.loader import load_documents
from parley_runtime.config.models import ChatBot
from unit.operator.operator_factories import CANARY, by_kind_name, chatbot_doc, make_binding, make_chatbot


def _objects(bot: ChatBot, **kwargs: Any) -> dict[tuple[str, str], dict[str, Any]]:
    return by_kind_name(render_bot(bot, [make_binding()], namespace="bots", **kwargs))


def _checksums(objects: dict[tuple[str, str], dict[str, Any]]) -> set[str]:
    return {
        o["spec"]["template"]["metadata"]["annotations"]["parley.dev/config-checksum"]
        for (kind, _), o in objects.items()
        if kind == "Deployment"
    }


def test_bot_yaml_loads_back_as_the_same_bot_and_binding() -> None:
    bot = make_chatbot(
        persona={"systemPrompt": "Be brief.", "language": "zh-CN"}, plugins=[{"name": "weather"}]
    )
    config = _objects(bot)[("ConfigMap", "helpdesk-config")]
    docs = list(enumerate(yaml.safe_load_all(config["data"]["bot.yaml"]), start=1))
    bots, bindings, problems = load_documents(docs, "bot.yaml")
    assert problems == []
    assert [b.obj.name for b in bots] == ["helpdesk"]
    assert [b.obj.name for b in bindings] == ["helpdesk-feishu"]
    loaded = bots[0].obj
    assert loaded.spec.persona.system_prompt == "Be brief."
    assert loaded.spec.models == bot.spec.models
    assert loaded.spec.redis == bot.spec.redis
    assert loaded.metadata.namespace == "bots"


def test_bot_yaml_drops_status_server_metadata_and_operator_only_fields() -> None:
    doc = chatbot_doc(canary=CANARY, image="ghcr.io/x/parley", scaling={"minReplicas": 3})
    doc["metadata"].update(
        uid="u-1",
        generation=7,
        resourceVersion="42",
        annotations={"kopf.zalando.org/last-handled-configuration": "{}"},
    )
    doc["status"] = {"stableVersion": "1.3.0"}
    text = _objects(ChatBot.model_validate(doc))[("ConfigMap", "helpdesk-config")]["data"]["bot.yaml"]
    chatbot = next(yaml.safe_load_all(text))
    assert chatbot["metadata"] == {"name": "helpdesk", "namespace": "bots"}
    assert "status" not in chatbot
    for field in ("canary", "image", "scaling", "resources"):
        assert field not in chatbot["spec"]
    assert "1.3.0" not in text and "kopf" not in text


def test_bot_yaml_holds_secret_references_not_values() -> None:
    text = _objects(make_chatbot())[("ConfigMap", "helpdesk-config")]["data"]["bot.yaml"]
    chatbot = next(yaml.safe_load_all(text))
    assert chatbot["spec"]["models"]["routes"][0]["apiKey"] == {
        "secretKeyRef": {"name": "llm", "key": "deepseek"}
    }


def test_config_is_the_same_with_or_without_defaults_filled_in() -> None:
    """The API server applies the CRD's defaults; render must not see a different config for it."""
    filled = chatbot_doc()
    filled["spec"]["session"] = {"maxTurns": 20, "maxTokens": 8000, "ttl": "24h"}
    filled["spec"]["models"]["routes"][0].update(priority=0, weight=100, retries=1, timeout="60s")
    a = _objects(make_chatbot())[("ConfigMap", "helpdesk-config")]
    b = _objects(ChatBot.model_validate(filled))[("ConfigMap", "helpdesk-config")]
    assert a == b


def test_routes_without_canary() -> None:
    routes = _objects(make_chatbot(), canary_weight=30)[("ConfigMap", "helpdesk-routes")]
    assert json.loads(routes["data"]["routes.json"]) == {
        "bot": "helpdesk",
        "stableVersion": "1.4.0",
        "canaryVersion": None,
        "canaryWeight": 0,
    }


def test_routes_during_a_canary_carry_the_weight() -> None:
    routes = _objects(make_chatbot(canary=CANARY), canary_weight=25)[("ConfigMap", "helpdesk-routes")]
    assert json.loads(routes["data"]["routes.json"]) == {
        "bot": "helpdesk",
        "stableVersion": "1.4.0",
        "canaryVersion": "1.5.0",
        "canaryWeight": 25,
    }


def test_internal_secret_is_rendered_without_data() -> None:
    secret = _objects(make_chatbot())[("Secret", "helpdesk-internal")]
    assert secret["type"] == "Opaque"
    assert not {"data", "stringData"} & secret.keys()


def test_the_stable_deployments_share_one_checksum_and_the_canary_follows_its_own_config() -> None:
    objects = _objects(make_chatbot(canary=CANARY))
    stable = {k: o for k, o in objects.items() if k[1] != "helpdesk-canary"}
    assert len(_checksums(stable)) == 1
    canary = _checksums({("Deployment", "helpdesk-canary"): objects[("Deployment", "helpdesk-canary")]})
    assert canary.isdisjoint(_checksums(stable))
    # A prompt in the canary changes the canary's checksum only.
    prompt = _objects(make_chatbot(canary={**CANARY, "persona": {"systemPrompt": "Be brief."}}))
    assert _checksums({k: o for k, o in prompt.items() if k[1] != "helpdesk-canary"}) == _checksums(stable)
    assert _checksums({("Deployment", "c"): prompt[("Deployment", "helpdesk-canary")]}) != canary


def test_checksum_changes_when_the_config_changes() -> None:
    before = _checksums(_objects(make_chatbot()))
    after = _checksums(_objects(make_chatbot(persona={"systemPrompt": "Be kind."})))
    assert before != after


def test_checksum_changes_when_a_binding_changes() -> None:
    bot = make_chatbot()
    a = _checksums(by_kind_name(render_bot(bot, [make_binding()], namespace="bots")))
    b = _checksums(by_kind_name(render_bot(bot, [make_binding(secret="feishu-app-2")], namespace="bots")))
    assert a != b


def test_checksum_does_not_change_with_the_route_weight() -> None:
    bot = make_chatbot(canary=CANARY)
    at_10 = _objects(bot, canary_weight=10)
    at_50 = _objects(bot, canary_weight=50)
    assert _checksums(at_10) == _checksums(at_50)
    assert at_10[("ConfigMap", "helpdesk-routes")] != at_50[("ConfigMap", "helpdesk-routes")]
    for key, obj in at_10.items():
        if key != ("ConfigMap", "helpdesk-routes"):
            assert at_50[key] == obj, key


def test_checksum_does_not_change_with_scaling_or_canary_steps() -> None:
    base = _checksums(_objects(make_chatbot(canary=CANARY)))
    steps = {**CANARY, "steps": [{"setWeight": 50}]}
    assert _checksums(_objects(make_chatbot(canary=steps, scaling={"maxReplicas": 20}))) == base
