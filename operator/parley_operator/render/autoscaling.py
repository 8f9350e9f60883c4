"""HorizontalPodAutoscalers and PodDisruptionBudgets, one of each per Deployment and of the same name."""

from typing import Any

from parley_operator.render.meta import Context, selector
from parley_runtime.config.models import Scaling


def hpa(
    ctx: Context, scaling: Scaling, name: str, component: str, version: str, track: str | None
) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": ctx.metadata(name, component, version=version, track=track),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": scaling.min_replicas,
            "maxReplicas": scaling.max_replicas,
            "metrics": [
                {
                    "type": "Resource",
                    "resource": {
                        "name": "cpu",
                        "target": {
                            "type": "Utilization",
                            "averageUtilization": scaling.target_cpu_utilization_percentage,
                        },
                    },
                }
            ],
        },
    }


def pdb(ctx: Context, name: str, component: str, version: str, track: str | None) -> dict[str, Any]:
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": ctx.metadata(name, component, version=version, track=track),
        "spec": {
            "maxUnavailable": 1,
            "selector": {"matchLabels": selector(ctx.names.bot, component, track)},
        },
    }
