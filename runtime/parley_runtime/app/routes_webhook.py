"""`/webhook/{platform}/{binding}`: platform callbacks, acknowledged fast and processed async."""

import logging
import time

from fastapi import APIRouter, Request, WebSocket
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route

from parley_runtime.app.state import NotReady, components
from parley_runtime.core.protocols import WebhookRequest

log = logging.getLogger("parley.webhook")
router = APIRouter()

MAX_BODY_BYTES = 1 << 20


def _not_found() -> JSONResponse:
    return JSONResponse({"error": "unknown platform or binding"}, status_code=404)


async def webhook(request: Request) -> Response:
    started = time.perf_counter()
    platform, binding = request.path_params["platform"], request.path_params["binding"]
    comps = components(request)
    adapter = comps.adapters.get(binding)
    if adapter is None or comps.platform_of(binding) != platform:
        return _not_found()
    body = await request.body()
    if len(body) > MAX_BODY_BYTES:
        return JSONResponse({"error": "body too large"}, status_code=413)
    inbound = WebhookRequest(
        method=request.method,
        query=dict(request.query_params),
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
    )
    try:
        result = await adapter.handle_webhook(inbound)
    except Exception:  # an adapter bug must not turn into a 5xx the platform retries forever
        log.exception("adapter failed", extra={"platform": platform, "binding": binding})
        return JSONResponse({"error": "bad request"}, status_code=400)
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
        return JSONResponse({"error": "temporarily unavailable"}, status_code=503)
    comps.metrics.webhook_seconds.labels(platform).observe(time.perf_counter() - started)
    return Response(
        result.body, status_code=result.status, media_type=result.content_type, headers=dict(result.headers)
    )


async def guarded_webhook(request: Request) -> Response:
    """The webhook as served ahead of the middleware stack: it must answer every failure itself."""
    try:
        return await webhook(request)
    except NotReady:
        return JSONResponse({"error": "not ready"}, status_code=503)
    except Exception:
        log.exception("webhook failed", extra={"path": request.url.path})
        return JSONResponse({"error": "internal error"}, status_code=500)


# Platform callbacks are the hottest path and need none of FastAPI's machinery: a plain Starlette
# route, served before the middleware stack (`factory.ParleyApp`), costs about half the CPU per ack
# (docs/benchmarks.md, "Webhook ack").
FAST_ROUTE = Route("/webhook/{platform}/{binding}", guarded_webhook, methods=["GET", "POST"])


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
