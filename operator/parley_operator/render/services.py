"""Services: the gateway (the platforms' webhook target) and the engines (metrics scrapes)."""

from typing import Any

from parley_operator.render.meta import Context, selector


def service(ctx: Context, name: str, component: str, port: int, track: str | None = None) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": ctx.metadata(name, component, track=track),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(ctx.names.bot, component, track),
            "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}],
        },
    }


def gateway_service(ctx: Context) -> dict[str, Any]:
    return service(ctx, ctx.names.gateway, "gateway", 80)


def engine_service(ctx: Context) -> dict[str, Any]:
    """Only the stable engines: the gateway forwards the stable track's chat requests here
    (`PARLEY_ENGINE_URL_STABLE` defaults to it), so a canary pod must never answer behind it."""
    return service(ctx, ctx.names.engine_service, "engine", 8080, track="stable")


def canary_service(ctx: Context) -> dict[str, Any]:
    """Only the canary engines: the canary track's chat requests, and a scrape target of its own."""
    return service(ctx, ctx.names.canary_service, "engine", 8080, track="canary")
