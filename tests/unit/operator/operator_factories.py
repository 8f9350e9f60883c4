"""Factories for the operator's unit tests: real ChatBot / PlatformBinding models, built from dicts."""

from typing import Any

from parley_runtime.config.models import ChatBot, PlatformBinding


def chatbot_doc(name: str = "helpdesk", *, namespace: str | None = None, **spec: Any) -> dict[str, Any]:
    """A minimal valid ChatBot manifest; keyword arguments replace top-level spec fields."""
    body: dict[str, Any] = {
        "version": "1.4.0",
        "models": {
            "routes": [
                {
                    "name": "main",
                    "provider": "openai-compatible",
                    "baseURL": "https://api.deepseek.com/v1",
                    "model": "deepseek-chat",
                    "apiKey": {"secretKeyRef": {"name": "llm", "key": "deepseek"}},
                }
            ]
        },
        "redis": {"url": {"secretKeyRef": {"name": "redis", "key": "url"}}},
    }
    body.update(spec)
    metadata: dict[str, Any] = {"name": name}
    if namespace is not None:
        metadata["namespace"] = namespace
    return {"apiVersion": "parley.dev/v1alpha1", "kind": "ChatBot", "metadata": metadata, "spec": body}


def make_chatbot(name: str = "helpdesk", **spec: Any) -> ChatBot:
    return ChatBot.model_validate(chatbot_doc(name, **spec))


def binding_doc(
    name: str = "helpdesk-feishu",
    *,
    bot: str = "helpdesk",
    platform: str = "feishu",
    secret: str | None = "feishu-app",
    **spec: Any,
) -> dict[str, Any]:
    body: dict[str, Any] = {"botRef": {"name": bot}, "platform": platform}
    if secret is not None:
        body["credentials"] = {"secretRef": {"name": secret}}
    body.update(spec)
    return {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "PlatformBinding",
        "metadata": {"name": name},
        "spec": body,
    }


def make_binding(name: str = "helpdesk-feishu", **kwargs: Any) -> PlatformBinding:
    return PlatformBinding.model_validate(binding_doc(name, **kwargs))


CANARY = {"version": "1.5.0", "steps": [{"setWeight": 10}, {"pause": {"duration": "10m"}}, {"pause": {}}]}


def by_kind_name(objects: list[dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in objects}
