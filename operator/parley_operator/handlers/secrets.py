"""A watch on Secrets: a rotation, or a referenced Secret that appears or goes, reconciles the bots
that reference it, which roll exactly the pods mounting it (their `parley.dev/secrets-checksum`) or
report `SecretMissing` until it is back. The event body's data is never read here."""

from collections.abc import Callable, Mapping
from typing import Any

import kopf

from parley_operator.handlers.context import BINDINGS_INDEX, OperatorContext, bindings_of, report


def _bindings(index: Any, namespace: str, bot: str) -> Callable[[], list[Mapping[str, Any]]]:
    return lambda: bindings_of(index, namespace, bot)


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    async def secret_event(**kwargs: Any) -> None:
        if kwargs.get("type") is None:  # the initial listing: every bot reconciles on resume anyway
            return
        namespace, name = str(kwargs["namespace"]), str(kwargs["name"])
        index = kwargs.get(BINDINGS_INDEX)
        for bot in ctx.reconciler.secret_users.bots(namespace, name):
            ctx.reconciler.nudge(namespace, bot, _bindings(index, namespace, bot), report)

    kopf.on.event("", "v1", "secrets", id="secret-rotation", registry=registry)(secret_event)
