"""Factories returning real manifest and message models (never mocks), shared by every test tier."""

from typing import Any

import yaml

from parley_runtime.config.models import ChatBot, PlatformBinding
from parley_runtime.core.messages import InboundMessage


def chatbot_doc(name: str = "helpdesk", **spec: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "version": "1.4.0",
        "models": {"routes": [{"name": "main", "provider": "echo", "model": "echo-1"}]},
    }
    base.update(spec)
    return {"apiVersion": "parley.dev/v1alpha1", "kind": "ChatBot", "metadata": {"name": name}, "spec": base}


def binding_doc(
    name: str = "helpdesk-http",
    bot: str = "helpdesk",
    platform: str = "http",
    secret: str | None = None,
    **settings: Any,
) -> dict[str, Any]:
    spec: dict[str, Any] = {"botRef": {"name": bot}, "platform": platform, "settings": settings}
    if secret is not None:
        spec["credentials"] = {"secretRef": {"name": secret}}
    return {
        "apiVersion": "parley.dev/v1alpha1",
        "kind": "PlatformBinding",
        "metadata": {"name": name},
        "spec": spec,
    }


def make_chatbot(name: str = "helpdesk", **spec: Any) -> ChatBot:
    return ChatBot.model_validate(chatbot_doc(name, **spec))


def make_binding(
    name: str = "helpdesk-http",
    bot: str = "helpdesk",
    platform: str = "http",
    secret: str | None = None,
    **settings: Any,
) -> PlatformBinding:
    return PlatformBinding.model_validate(binding_doc(name, bot, platform, secret, **settings))


def dump_yaml(*docs: dict[str, Any]) -> str:
    return yaml.safe_dump_all(docs, sort_keys=False, allow_unicode=True)


def make_inbound(text: str = "hello", *, platform: str = "http", **overrides: Any) -> InboundMessage:
    """A message from user-1 in chat-1 to the `helpdesk` bot through its `platform` binding."""
    fields: dict[str, Any] = {
        "bot": "helpdesk",
        "platform": platform,
        "binding": f"helpdesk-{platform}",
        "event_id": "ev-1",
        "chat_id": "chat-1",
        "user_id": "user-1",
        "text": text,
    }
    return InboundMessage(**{**fields, **overrides})
