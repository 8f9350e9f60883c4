"""What one reconcile saw, frozen: the input of every decision in `policies`.

Why frozen values: the decide step must be a pure function of what was read, so it can be unit
tested from literals and a reconcile can never change its own inputs half-way through.
Secrets appear only as key NAMES: their values are never kept.
"""

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from parley_runtime.config.models import GROUP_VERSION, ChatBot, PlatformBinding


@dataclass(frozen=True, order=True)
class Ref:
    """Identity of a namespaced object: enough to GET, PATCH or DELETE it."""

    api_version: str
    kind: str
    namespace: str
    name: str

    @classmethod
    def of(cls, obj: Mapping[str, Any], namespace: str | None = None) -> "Ref":
        meta = obj.get("metadata") or {}
        return cls(
            str(obj["apiVersion"]), str(obj["kind"]), str(meta.get("namespace") or namespace), meta["name"]
        )

    def __str__(self) -> str:
        return f"{self.kind}/{self.name}"


def bot_ref(namespace: str, name: str) -> Ref:
    return Ref(GROUP_VERSION, "ChatBot", namespace, name)


def binding_ref(namespace: str, name: str) -> Ref:
    return Ref(GROUP_VERSION, "PlatformBinding", namespace, name)


@dataclass(frozen=True)
class BindingView:
    """A PlatformBinding as read: the parsed model, or the one-line reason it does not parse."""

    name: str
    generation: int | None
    status: Mapping[str, Any]
    binding: PlatformBinding | None
    problem: str | None = None


@dataclass(frozen=True)
class BotView:
    """The ChatBot as read: the parsed model, or the one-line reason it does not parse."""

    namespace: str
    name: str
    uid: str | None
    generation: int | None
    status: Mapping[str, Any]
    bot: ChatBot | None
    problem: str | None = None


def _empty() -> Mapping[Any, Any]:
    return MappingProxyType({})


@dataclass(frozen=True)
class Observed:
    """Everything a ChatBot reconcile decides from."""

    bot: BotView
    bindings: tuple[BindingView, ...] = ()
    # Secret name → its key names, or None when the Secret does not exist.
    secret_keys: Mapping[str, frozenset[str] | None] = field(default_factory=_empty)
    # Every desired child → the live object, or None when it does not exist.
    children: Mapping[Ref, Mapping[str, Any] | None] = field(default_factory=_empty)
    # Objects this bot owns that are not desired any more (known from the watch inventory).
    stale: tuple[Ref, ...] = ()
    # The engine pods, read only when the bot installs plugin packages (their init containers' state).
    engine_pods: tuple[Mapping[str, Any], ...] = ()
