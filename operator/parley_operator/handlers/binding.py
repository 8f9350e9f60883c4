"""PlatformBinding handlers: index bindings by bot, and re-reconcile the bot a binding belongs to.

The bot's reconcile writes the status of each of its bindings; only a binding whose ChatBot does
not exist gets its status from here.
"""

from collections.abc import Mapping
from typing import Any

import kopf

from parley_operator import decide
from parley_operator.handlers.context import BINDINGS_INDEX, OperatorContext, bindings_of, report
from parley_operator.handlers.reconcile import utc_now
from parley_operator.k8s import apply, errors
from parley_operator.observed import BindingView
from parley_operator.policies import parse
from parley_runtime.config.models import API_GROUP, API_VERSION


def bot_name(spec: Mapping[str, Any] | None) -> str | None:
    ref = (spec or {}).get("botRef")
    name = ref.get("name") if isinstance(ref, Mapping) else None
    return name if isinstance(name, str) and name else None


async def unbound(ctx: OperatorContext, namespace: str, view: BindingView, reason: str, message: str) -> None:
    """The status of a binding that no ChatBot's reconcile looks after: not ready, and why."""
    change = decide.binding_change(namespace, view, (False, reason, message), utc_now())
    await apply.patch_status(ctx.client(), change.ref, change.patch)


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    g, v, p = API_GROUP, API_VERSION, "platformbindings"

    def index_binding(**kwargs: Any) -> Any:
        bot = bot_name(kwargs["spec"])
        return {(kwargs["namespace"], bot): dict(kwargs["body"])} if bot else None

    kopf.index(g, v, p, id=BINDINGS_INDEX, registry=registry)(index_binding)

    async def binding_changed(**kwargs: Any) -> None:
        namespace, body, old = str(kwargs["namespace"]), kwargs["body"], kwargs.get("old")
        index = kwargs.get(BINDINGS_INDEX)
        bot = bot_name(kwargs["spec"])
        before = bot_name(old.get("spec")) if isinstance(old, Mapping) else None
        if before and before != bot:  # moved to another bot: the old one must drop it
            ctx.reconciler.nudge(namespace, before, lambda: bindings_of(index, namespace, before), report)
        view = parse.binding_view(body)
        if bot is None:
            await unbound(ctx, namespace, view, "InvalidSpec", view.problem or "spec.botRef.name missing")
            return
        try:
            outcome = await ctx.reconciler.reconcile(namespace, bot, bindings_of(index, namespace, bot))
            if not outcome.found:
                message = f"ChatBot {bot} not found in namespace {namespace}"
                await unbound(ctx, namespace, view, "BotNotFound", message)
        except errors.ApiError as e:
            raise kopf.TemporaryError(f"Kubernetes API: {e}", delay=5) from None
        report(outcome)

    kopf.on.create(g, v, p, id="bind", registry=registry)(binding_changed)
    kopf.on.update(g, v, p, id="bind", registry=registry)(binding_changed)
    kopf.on.resume(g, v, p, id="bind", registry=registry)(binding_changed)

    async def binding_deleted(**kwargs: Any) -> None:
        namespace, bot = str(kwargs["namespace"]), bot_name(kwargs["spec"])
        if kwargs.get("type") == "DELETED" and bot:
            index = kwargs.get(BINDINGS_INDEX)
            ctx.reconciler.nudge(namespace, bot, lambda: bindings_of(index, namespace, bot), report)

    kopf.on.event(g, v, p, id="unbind", registry=registry)(binding_deleted)
