"""`/webhook/{platform}/{binding}`: platform callbacks, acknowledged fast and processed async."""

import logging
import time

from fastapi import APIRouter, WebSocket
from fastapi.responses import Response
from starlette.types import Receive, Scope, Send

from parley_runtime.app.asgi import FastJSON, headers_of, query_of, read_body, serve
from parley_runtime.app.components import Components
from parley_runtime.app.state import components
from parley_runtime.core.protocols import WebhookRequest

log = logging.getLogger("parley.webhook")
router = APIRouter()

MAX_BODY_BYTES = 1 << 20


PREFIX = "/webhook/"


def webhook_target(scope: Scope) -> tuple[str, str] | None:
    """(platform, binding) when this HTTP request is a platform callback we serve, else None."""
    path: str = scope["path"]
    if not path.startswith(PREFIX) or scope["method"] not in ("GET", "POST"):
        return None
    platform, slash, binding = path[len(PREFIX) :].partition("/")
    if not (platform and slash and binding) or "/" in binding:
        return None
    return platform, binding


async def _answer(scope: Scope, receive: Receive, comps: Components, platform: str, binding: str) -> Response:
    started = time.perf_counter()
    adapter = comps.adapters.get(binding)
    if adapter is None or comps.platform_of(binding) != platform:
        return FastJSON({"error": "unknown platform or binding"}, status_code=404)
    body = await read_body(receive, MAX_BODY_BYTES)
    if body is None:
        return FastJSON({"error": "body too large"}, status_code=413)
    inbound = WebhookRequest(
        method=scope["method"], query=query_of(scope), headers=headers_of(scope), body=body
    )
    try:
        result = await adapter.handle_webhook(inbound)
    except Exception:  # an adapter bug must not turn into a 5xx the platform retries forever
        log.exception("adapter failed", extra={"platform": platform, "binding": binding})
        return FastJSON({"error": "bad request"}, status_code=400)
    if result.rejected:
        comps.metrics.webhook_rejected.labels(platform, result.reason or "rejected").inc()
        log.warning(
            "callback rejected", extra={"platform": platform, "binding": binding, "reason": result.reason}
        )
    try:
        for event in result.events:
            await comps.intake.accept(event)
    except Exception as exc:  # the queue is down: let the platform retry later, lose nothing
        log.error("enqueue failed", extra={"platform": platform, "error": type(exc).__name__})
        return FastJSON({"error": "temporarily unavailable"}, status_code=503)
    comps.metrics.webhook_seconds.labels(platform).observe(time.perf_counter() - started)
    return Response(
        result.body, status_code=result.status, media_type=result.content_type, headers=dict(result.headers)
    )


async def serve_webhook(scope: Scope, receive: Receive, send: Send, platform: str, binding: str) -> None:
    """A platform callback as a bare ASGI app, ahead of the middleware stack.

    Platforms retry slow or failed callbacks, so this is the hottest path of a gateway; it needs
    none of FastAPI's machinery (docs/benchmarks.md, "Webhook ack").
    """

    async def respond(comps: Components) -> Response:
        return await _answer(scope, receive, comps, platform, binding)

    await serve(scope, receive, send, respond, log=log, failure="webhook failed")


@router.websocket("/webhook/onebot/{binding}")
async def onebot_socket(websocket: WebSocket, binding: str) -> None:
    """OneBot v11 implementations (NapCat, Lagrange) connect here as reverse-WebSocket clients."""
    comps = components(websocket)
    adapter = comps.adapters.get(binding)
    handle = getattr(adapter, "handle_websocket", None)
    if adapter is None or comps.platform_of(binding) != "onebot" or handle is None:
        await websocket.close(code=4404)
        return
    await handle(websocket, comps.intake.accept)
