"""`create_app`: the FastAPI application of every role, with its background tasks."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse

from parley_runtime.app import components as components_mod
from parley_runtime.app import routes_chat, routes_ops, routes_webhook
from parley_runtime.app.bootstrap import RuntimeConfig
from parley_runtime.app.components import Components
from parley_runtime.app.state import NotReady
from parley_runtime.core.messages import Track
from parley_runtime.engine import worker
from parley_runtime.gateway import lease

log = logging.getLogger("parley.app")

STATIC = Path(__file__).parent / "static"
TRACKS: tuple[Track, ...] = ("stable", "canary")


def _tracks_consumed(comps: Components) -> tuple[Track, ...]:
    role = comps.cfg.settings.role
    if role == "serve":
        return TRACKS
    if role == "engine":
        return (comps.cfg.settings.track,)
    return ()


def long_connections(comps: Components) -> dict[str, Callable[[], Awaitable[None]]]:
    """Bindings whose platform is reached over a connection we open (polling, stream mode)."""
    found: dict[str, Callable[[], Awaitable[None]]] = {}
    for binding in comps.cfg.bindings:
        mode = getattr(binding.obj.spec.typed_settings(), "mode", None)
        adapter = comps.adapters[binding.obj.name]
        run = getattr(adapter, "run_connection", None)
        if mode in ("polling", "stream") and run is not None:
            found[binding.obj.name] = lambda run=run: run(comps.intake.accept)  # type: ignore[misc]
    return found


def _leader_loop(comps: Components, binding: str, connect: Callable[[], Awaitable[None]]) -> Awaitable[None]:
    """In a cluster exactly one gateway replica holds each long connection, through a Lease."""
    settings = comps.cfg.settings
    api = lease.KubeAPI.in_cluster()
    elector = lease.LeaseElector(
        comps.kube_http(api),
        api=api,
        name=f"{comps.cfg.name}-{binding}",
        namespace=settings.namespace or "default",
        identity=settings.pod_name or comps.consumer_id,
    )
    return elector.run(connect)


def background_tasks(comps: Components) -> list[Callable[[], Awaitable[None]]]:
    """The loops a role runs beside its HTTP server."""
    loops: list[Callable[[], Awaitable[None]]] = []
    role = comps.cfg.settings.role
    for binding, connect in long_connections(comps).items():
        if role == "serve":
            loops.append(connect)
        elif role == "gateway":
            loops.append(lambda b=binding, c=connect: _leader_loop(comps, b, c))  # type: ignore[misc]
    for track in _tracks_consumed(comps):
        loops.append(
            lambda t=track: worker.run(  # type: ignore[misc]
                comps.queue, t, comps.consumer_id, comps.pipeline, comps.sender.deliver
            )
        )
    if comps.cfg.settings.role in ("serve", "engine"):
        loops.append(lambda: comps.outbox.drain_forever(comps.sender.deliver))
    if comps.cfg.settings.role == "serve" and comps.cfg.settings.plugins_dir is not None:
        loops.append(comps.plugins.watch)
    return loops


async def _supervise(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Restart a crashed background loop after a pause instead of losing it silently."""
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("background task failed; restarting", extra={"task": name})
            await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def running(comps: Components) -> AsyncIterator[None]:
    await comps.router.start()
    await comps.plugins.start()
    tasks = [
        asyncio.create_task(_supervise(f"task-{i}", loop)) for i, loop in enumerate(background_tasks(comps))
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await comps.plugins.aclose()


def create_app(cfg: RuntimeConfig, comps: Components | None = None) -> FastAPI:
    """The app for `cfg`; without `comps` the lifespan builds (and closes) them itself."""

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with contextlib.AsyncExitStack() as stack:
            built = comps if comps is not None else await stack.enter_async_context(components_mod.build(cfg))
            await stack.enter_async_context(running(built))
            app.state.components = built
            try:
                yield
            finally:
                app.state.components = None

    app = FastAPI(title=f"Parley · {cfg.name}", lifespan=lifespan, docs_url="/docs", redoc_url=None)
    app.include_router(routes_ops.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_webhook.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def web_chat() -> HTMLResponse:
        html = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{BOT}}", cfg.name)
        return HTMLResponse(html)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = []
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            msg = "invalid JSON" if err.get("type") == "json_invalid" else err.get("msg", "invalid")
            problems.append(f"{loc}: {msg}" if loc else msg)
        status = 400 if any(e.get("type") == "json_invalid" for e in exc.errors()) else 422
        return JSONResponse({"error": "; ".join(problems) or "invalid request"}, status_code=status)

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse({"error": "not ready"}, status_code=503)

    return app
