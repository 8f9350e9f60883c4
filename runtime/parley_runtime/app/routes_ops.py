"""Liveness, readiness and Prometheus metrics."""

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from parley_runtime.app.state import NotReady, components

router = APIRouter()


@router.get("/health")
async def health() -> dict[str, str]:
    """Answers while the event loop runs: that is all liveness means."""
    return {"status": "OK"}


@router.get("/ready")
async def ready(request: Request) -> JSONResponse:
    try:
        comps = components(request)
    except NotReady as exc:
        return JSONResponse({"status": "not ready", "reason": str(exc)}, status_code=503)
    reason = await comps.ping()
    if reason is not None:
        return JSONResponse({"status": "not ready", "reason": reason}, status_code=503)
    return JSONResponse({"status": "ready", "bot": comps.cfg.name, "role": comps.cfg.settings.role})


@router.get("/metrics")
async def metrics(request: Request) -> Response:
    try:
        comps = components(request)
    except NotReady:
        return Response(b"", media_type="text/plain")
    return Response(comps.metrics.render(), media_type=comps.metrics.content_type)
