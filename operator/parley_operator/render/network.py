"""NetworkPolicies: who may open a connection to a bot's pods (egress stays open: model providers and
platform APIs live outside the cluster, at addresses no policy could list).

The engines take traffic only from their own gateway (forwarded chat requests and webhook events
travel through the queue, not the network) and from the namespaces that scrape metrics: the
operator's own (the canary analysis reads the engines' /metrics) and the monitoring namespace. The
gateway takes traffic from anywhere on its HTTP port, where the platforms' webhooks arrive.
"""

from collections.abc import Sequence
from typing import Any

from parley_operator.render.meta import Context, selector
from parley_operator.render.pods import HTTP_PORT

# Namespaces whose pods may scrape the engines' metrics, by their immutable name label.
SCRAPER_NAMESPACES = ("parley-system", "monitoring")
NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name"


def _policy(ctx: Context, name: str, component: str, sources: list[dict[str, Any]] | None) -> dict[str, Any]:
    rule: dict[str, Any] = {"ports": [{"protocol": "TCP", "port": HTTP_PORT}]}
    if sources is not None:
        rule["from"] = sources
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": ctx.metadata(name, component),
        "spec": {
            "podSelector": {"matchLabels": selector(ctx.names.bot, component)},
            "policyTypes": ["Ingress"],
            "ingress": [rule],
        },
    }


def engine_policy(ctx: Context, scrapers: Sequence[str] = SCRAPER_NAMESPACES) -> dict[str, Any]:
    sources: list[dict[str, Any]] = [{"podSelector": {"matchLabels": selector(ctx.names.bot, "gateway")}}]
    if scrapers:
        sources.append(
            {
                "namespaceSelector": {
                    "matchExpressions": [
                        {"key": NAMESPACE_NAME_LABEL, "operator": "In", "values": sorted(scrapers)}
                    ]
                }
            }
        )
    return _policy(ctx, ctx.names.engine, "engine", sources)


def gateway_policy(ctx: Context) -> dict[str, Any]:
    return _policy(ctx, ctx.names.gateway, "gateway", None)  # no `from`: every source, this port only
