"""ChatBot handlers: one reconcile function for create, update, resume and the periodic resync.

A ChatBot in a gray release also gets a short `canary` timer: pauses end and analysis windows fall
due with time alone, without any event. It stops once the release is promoted, rolled back or aborted.

The resync is a safety net (events already cover changes and drift of the watched kinds), so it
yields to everything else: each bot's first resync is spread over the interval by a hash of its
uid, and a resync skips a bot that is being reconciled and runs with few slots of its own.
"""

import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from parley_operator import decide
from parley_operator.handlers.context import BINDINGS_INDEX, OperatorContext, bindings_of, report
from parley_operator.k8s import errors
from parley_operator.policies import canary
from parley_runtime.config.models import API_GROUP, API_VERSION


def spread(interval: float, key: str) -> float:
    """A stable delay in [interval/2, 3·interval/2) so that bots created together do not resync together."""
    fraction = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0x1_0000_0000
    return interval * (0.5 + fraction)


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    async def reconcile_chatbot(**kwargs: Any) -> None:
        namespace, name = str(kwargs["namespace"]), str(kwargs["name"])
        bindings = bindings_of(kwargs.get(BINDINGS_INDEX), namespace, name)
        try:
            outcome = await ctx.reconciler.reconcile(namespace, name, bindings)
        except errors.ApiError as e:
            raise kopf.TemporaryError(f"Kubernetes API: {e}", delay=5) from None
        report(outcome)

    def timer_reconcile(retry_delay: float) -> Callable[..., Awaitable[None]]:
        """A timer's reconcile; a tick cut short by the operator stopping is left to the next operator.

        Kopf neither waits for nor cancels timers at exit, and the cleanup closes the API client under
        a tick still in flight; whatever it had not done is in the status the next operator reads.
        """

        async def tick(**kwargs: Any) -> None:
            namespace, name = str(kwargs["namespace"]), str(kwargs["name"])
            bindings = bindings_of(kwargs.get(BINDINGS_INDEX), namespace, name)
            try:
                outcome = await ctx.reconciler.reconcile(namespace, name, bindings, background=True)
            except Exception as e:
                if kwargs.get("stopped") or ctx.closing:  # kopf may not have told this timer yet
                    return
                if isinstance(e, errors.ApiError):
                    raise kopf.TemporaryError(f"Kubernetes API: {e}", delay=retry_delay) from None
                raise
            if outcome is not None:
                report(outcome)

        return tick

    async def annotation_event(**kwargs: Any) -> None:
        """Kopf leaves annotations under its own prefix (`parley.dev/…`) out of the diffs that fire
        update handlers, so the asks written there (`paused`, `promote`, `abort`) are read from every
        watch event instead; a reconcile runs only when one is not answered yet."""
        if kwargs.get("type") in (None, "DELETED"):
            return
        body = kwargs["body"]
        if not decide.unanswered_ask(body):
            return
        namespace, name = str(kwargs["namespace"]), str(kwargs["name"])
        index = kwargs.get(BINDINGS_INDEX)
        ctx.reconciler.nudge(namespace, name, lambda: bindings_of(index, namespace, name), report)

    def in_gray_release(spec: Any, status: Any, **_: Any) -> bool:
        return canary.needs_ticks(spec or {}, status or {})

    def first_resync(**kwargs: Any) -> float:
        return spread(ctx.timer_interval, str(kwargs.get("uid") or kwargs.get("name")))

    g, v, p = API_GROUP, API_VERSION, "chatbots"
    kopf.on.create(g, v, p, id="reconcile", registry=registry)(reconcile_chatbot)
    kopf.on.update(g, v, p, id="reconcile", registry=registry)(reconcile_chatbot)
    kopf.on.resume(g, v, p, id="reconcile", registry=registry)(reconcile_chatbot)
    kopf.on.event(g, v, p, id="asks", registry=registry)(annotation_event)
    kopf.timer(
        g, v, p, id="resync", interval=ctx.timer_interval, initial_delay=first_resync, registry=registry
    )(timer_reconcile(retry_delay=30))
    kopf.timer(g, v, p, id="canary", interval=ctx.canary_tick, when=in_gray_release, registry=registry)(
        timer_reconcile(retry_delay=ctx.canary_tick)
    )
