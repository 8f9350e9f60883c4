"""Watches on the objects the operator owns: drift repair and the inventory of what exists.

Someone edits or deletes an owned Deployment/HPA/PDB/Service/NetworkPolicy/ConfigMap → the owning
ChatBot is reconciled and the object restored. Our own writes come back as events too; the inventory
recognises them by resourceVersion so they do not cause a reconcile loop.
"""

from typing import Any

import kopf

from parley_operator.handlers.context import BINDINGS_INDEX, OperatorContext, bindings_of, report
from parley_operator.render.meta import MANAGED_BY

WATCHED = (
    ("apps", "v1", "deployments"),
    ("autoscaling", "v2", "horizontalpodautoscalers"),
    ("policy", "v1", "poddisruptionbudgets"),
    ("networking.k8s.io", "v1", "networkpolicies"),
    ("", "v1", "configmaps"),
    ("", "v1", "services"),
)


def register(registry: kopf.OperatorRegistry, ctx: OperatorContext) -> None:
    async def child_event(**kwargs: Any) -> None:
        trigger = ctx.inventory.observe(kwargs.get("type"), kwargs["body"])
        if trigger is not None:
            index = kwargs.get(BINDINGS_INDEX)
            namespace, bot = trigger.bot
            ctx.reconciler.nudge(
                namespace,
                bot,
                lambda: bindings_of(index, namespace, bot),
                report,
                needed=lambda: not ctx.inventory.is_own(trigger),
            )

    for group, version, plural in WATCHED:
        kopf.on.event(
            group,
            version,
            plural,
            id=f"drift-{plural}",
            labels={"app.kubernetes.io/managed-by": MANAGED_BY},
            registry=registry,
        )(child_event)
