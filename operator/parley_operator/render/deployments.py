"""Deployments: the gateway, the stable engine and, during a canary, the canary engine.

`replicas` is left out on purpose: the HPA owns it, and a rendered value would fight the autoscaler
on every apply.
"""

from typing import Any

from parley_operator.render import pods
from parley_operator.render.meta import Context, selector
from parley_runtime.config.models import ChatBotSpec


def deployment(ctx: Context, spec: ChatBotSpec, name: str, pod: pods.PodInput) -> dict[str, Any]:
    match = selector(ctx.names.bot, pod.role, pod.track)
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": ctx.metadata(name, pod.role, version=pod.version, track=pod.track),
        "spec": {
            "revisionHistoryLimit": 5,
            "selector": {"matchLabels": match},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": pods.pod_template(ctx, spec, pod, match),
        },
    }
