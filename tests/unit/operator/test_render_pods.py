"""Pod templates: command, security, probes, resources, env, and a mount for every referenced Secret."""

from typing import Any

import pytest

from parley_operator.render import render_bot
from parley_operator.render.volumes import secret_volume_name
from parley_runtime.config.models import ChatBot
from unit.operator.operator_factories import CANARY, by_kind_name, make_binding, make_chatbot

DEPLOYMENTS = ("helpdesk-gateway", "helpdesk", "helpdesk-canary")


def _pod(bot: ChatBot, name: str, bindings: Any = None) -> dict[str, Any]:
    objects = by_kind_name(render_bot(bot, bindings or [make_binding()], namespace="bots"))
    spec: dict[str, Any] = objects[("Deployment", name)]["spec"]["template"]["spec"]
    return spec


def _container(bot: ChatBot, name: str, bindings: Any = None) -> dict[str, Any]:
    container: dict[str, Any] = _pod(bot, name, bindings)["containers"][0]
    return container


def _env(container: dict[str, Any]) -> dict[str, Any]:
    return {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}


def test_commands_per_role_and_track() -> None:
    bot = make_chatbot(canary=CANARY)
    config = ["-f", "/etc/parley/config/bot.yaml"]
    assert _container(bot, "helpdesk-gateway")["args"] == ["gateway", *config]
    assert _container(bot, "helpdesk")["args"] == ["engine", *config, "--track", "stable"]
    assert _container(bot, "helpdesk-canary")["args"] == ["engine", *config, "--track", "canary"]
    assert _container(bot, "helpdesk")["command"] == ["parley"]


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_pod_and_container_security(name: str) -> None:
    pod = _pod(make_chatbot(canary=CANARY), name)
    assert pod["securityContext"] == {
        "runAsNonRoot": True,
        "runAsUser": 10001,
        "runAsGroup": 10001,
        "fsGroup": 10001,
        "seccompProfile": {"type": "RuntimeDefault"},
    }
    sc = pod["containers"][0]["securityContext"]
    assert sc["allowPrivilegeEscalation"] is False
    assert sc["readOnlyRootFilesystem"] is True
    assert sc["runAsNonRoot"] is True
    assert sc["capabilities"] == {"drop": ["ALL"]}
    assert sc["seccompProfile"] == {"type": "RuntimeDefault"}
    assert pod["serviceAccountName"] == "helpdesk"


def test_only_the_gateway_mounts_an_api_token() -> None:
    bot = make_chatbot(canary=CANARY)
    assert _pod(bot, "helpdesk-gateway")["automountServiceAccountToken"] is True
    assert _pod(bot, "helpdesk")["automountServiceAccountToken"] is False
    assert _pod(bot, "helpdesk-canary")["automountServiceAccountToken"] is False


@pytest.mark.parametrize("name", DEPLOYMENTS)
def test_probes_and_port(name: str) -> None:
    container = _container(make_chatbot(canary=CANARY), name)
    assert container["ports"] == [{"name": "http", "containerPort": 8080, "protocol": "TCP"}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/health", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/ready", "port": "http"}


def test_default_resources() -> None:
    assert _container(make_chatbot(), "helpdesk")["resources"] == {
        "requests": {"cpu": "100m", "memory": "128Mi"}
    }


def test_spec_resources_override_and_keep_a_cpu_request() -> None:
    bot = make_chatbot(resources={"requests": {"memory": "512Mi"}, "limits": {"memory": "1Gi"}})
    assert _container(bot, "helpdesk")["resources"] == {
        "requests": {"cpu": "100m", "memory": "512Mi"},
        "limits": {"memory": "1Gi"},
    }


def test_every_referenced_secret_is_mounted_read_only_at_its_own_folder() -> None:
    bot = make_chatbot(
        models={
            "routes": [
                {
                    "name": "a",
                    "provider": "anthropic",
                    "model": "claude",
                    "apiKey": {"secretKeyRef": {"name": "llm", "key": "a"}},
                },
                {
                    "name": "b",
                    "provider": "gemini",
                    "model": "g",
                    "apiKey": {"secretKeyRef": {"name": "gemini.keys", "key": "k"}},
                },
            ]
        },
        api={"token": {"secretKeyRef": {"name": "api", "key": "token"}}},
    )
    bindings = [make_binding(), make_binding("helpdesk-slack", platform="slack", secret="slack-app")]
    engine = {"llm", "gemini.keys", "redis", "api", "feishu-app", "slack-app", "helpdesk-internal"}
    # The gateway only forwards chat requests: no model keys, no API token.
    gateway = {"redis", "feishu-app", "slack-app", "helpdesk-internal"}
    for name, expected in (("helpdesk-gateway", gateway), ("helpdesk", engine)):
        pod = _pod(bot, name, bindings)
        secret_volumes = {v["name"]: v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        assert set(secret_volumes.values()) == expected
        mounts = {m["name"]: m for m in pod["containers"][0]["volumeMounts"]}
        for volume, secret in secret_volumes.items():
            assert mounts[volume]["mountPath"] == f"/var/run/parley/secrets/{secret}"
            assert mounts[volume]["readOnly"] is True


def test_secret_volume_names_are_dns_labels() -> None:
    assert secret_volume_name("llm") == "secret-llm"
    dotted = secret_volume_name("gemini.keys")
    assert dotted.startswith("secret-") and "." not in dotted
    assert len(secret_volume_name("x" * 253)) <= 63
    assert secret_volume_name("a.b") != secret_volume_name("a-b.c")


def test_config_routes_and_scratch_volumes() -> None:
    bot = make_chatbot()
    gateway = {m["name"]: m for m in _container(bot, "helpdesk-gateway")["volumeMounts"]}
    engine = {m["name"]: m for m in _container(bot, "helpdesk")["volumeMounts"]}
    assert gateway["config"] == {"name": "config", "mountPath": "/etc/parley/config", "readOnly": True}
    assert gateway["routes"] == {"name": "routes", "mountPath": "/etc/parley/routes", "readOnly": True}
    assert "routes" not in engine
    for mounts in (gateway, engine):
        assert mounts["tmp"]["mountPath"] == "/tmp"
        assert mounts["data"]["mountPath"] == "/var/lib/parley"
    volumes = {v["name"]: v for v in _pod(bot, "helpdesk-gateway")["volumes"]}
    assert volumes["config"]["configMap"] == {"name": "helpdesk-config"}
    assert volumes["routes"]["configMap"] == {"name": "helpdesk-routes"}
    assert volumes["tmp"]["emptyDir"] == {} and volumes["data"]["emptyDir"] == {}


def test_env_points_at_files_never_values() -> None:
    bot = make_chatbot(canary=CANARY)
    gateway = _env(_container(bot, "helpdesk-gateway"))
    assert gateway["PARLEY_ROUTE_FILE"] == "/etc/parley/routes/routes.json"
    assert gateway["PARLEY_REDIS_URL_FILE"] == "/var/run/parley/secrets/redis/url"
    assert gateway["PARLEY_DATA_DIR"] == "/var/lib/parley"
    assert gateway["PARLEY_INTERNAL_TOKEN_FILE"] == "/var/run/parley/secrets/helpdesk-internal/token"
    assert _env(_container(bot, "helpdesk-canary"))["PARLEY_TRACK"] == "canary"
    assert "PARLEY_ROUTE_FILE" not in _env(_container(bot, "helpdesk"))


def test_no_redis_env_without_redis() -> None:
    bot = ChatBot.model_validate(
        {
            **make_chatbot().model_dump(by_alias=True, exclude={"spec"}),
            "spec": {"version": "1", "models": {"routes": [{"name": "e", "provider": "echo", "model": "e"}]}},
        }
    )
    assert "PARLEY_REDIS_URL_FILE" not in _env(
        _container(bot, "helpdesk", [make_binding(platform="http", secret=None)])
    )


def test_deployment_leaves_replicas_to_the_hpa() -> None:
    objects = by_kind_name(render_bot(make_chatbot(), [], namespace="bots"))
    assert "replicas" not in objects[("Deployment", "helpdesk")]["spec"]


def test_selector_matches_pod_labels_and_excludes_the_version() -> None:
    objects = by_kind_name(render_bot(make_chatbot(canary=CANARY), [], namespace="bots"))
    for name in DEPLOYMENTS:
        dep = objects[("Deployment", name)]["spec"]
        match = dep["selector"]["matchLabels"]
        assert match.items() <= dep["template"]["metadata"]["labels"].items()
        assert "app.kubernetes.io/version" not in match
