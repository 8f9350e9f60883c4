"""`create_app`: the FastAPI application of every role, with its background tasks."""

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse
from redis.exceptions import RedisError
from starlette.types import Receive, Scope, Send

from parley_runtime.app import asgi, errors, reload, routes_chat, routes_openai, routes_ops, routes_webhook
from parley_runtime.app import components as components_mod
from parley_runtime.app.bootstrap import RuntimeConfig
from parley_runtime.app.components import Components
from parley_runtime.app.state import NotReady
from parley_runtime.core.messages import Track
from parley_runtime.engine import worker
from parley_runtime.gateway import lease
from parley_runtime.queue import send_relay

log = logging.getLogger("parley.app")

STATIC = Path(__file__).parent / "static"
# The message routes served ahead of FastAPI (`ParleyApp`), by path; all are POSTs.
HOT_POSTS: dict[str, Callable[[Scope, Receive, Send], Awaitable[None]]] = {
    routes_chat.PATH: routes_chat.serve_chat,
    routes_openai.PATH: routes_openai.serve_completions,
}
TRACKS: tuple[Track, ...] = ("stable", "canary")
LAG_INTERVAL_SECONDS = 5.0


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
    # PARLEY_KUBE_API_URL: a plain http API without a token (tests); otherwise the in-cluster one.
    api = lease.KubeAPI(settings.kube_api_url) if settings.kube_api_url else lease.KubeAPI.in_cluster()
    elector = lease.LeaseElector(
        comps.kube_http(api),
        api=api,
        name=f"{comps.cfg.name}-{binding}",
        namespace=settings.namespace or "default",
        identity=settings.pod_name or comps.consumer_id,
        lease_duration=settings.lease_duration,
    )
    return elector.run(connect)


def _relay_server(comps: Components) -> Callable[[], Awaitable[None]] | None:
    """A gateway performs the sends engines relay for the connections platforms opened to it."""
    if comps.redis is None:
        return None
    senders = {
        name: comps.adapters[name].send
        for name in components_mod.relay_timeouts(comps.cfg)
        if name in comps.adapters
    }
    if not senders:
        return None
    client = comps.redis
    return lambda: send_relay.serve_sends(client, bot=comps.cfg.name, senders=senders)


async def _report_lag(comps: Components, track: Track) -> None:
    """`parley_queue_lag{track}`: what the engines of a track still have to do (an HPA/alert signal)."""
    gauge = comps.metrics.queue_lag.labels(track)
    while True:
        gauge.set(await comps.queue.lag(track))
        await asyncio.sleep(LAG_INTERVAL_SECONDS)


def background_tasks(comps: Components) -> list[Callable[[], Awaitable[None]]]:
    """The loops a role runs beside its HTTP server."""
    loops: list[Callable[[], Awaitable[None]]] = []
    role = comps.cfg.settings.role
    for binding, connect in long_connections(comps).items():
        if role == "serve":
            loops.append(connect)
        elif role == "gateway":
            loops.append(lambda b=binding, c=connect: _leader_loop(comps, b, c))  # type: ignore[misc]
    if role == "gateway" and (relay_server := _relay_server(comps)) is not None:
        loops.append(relay_server)
    pipeline = comps.pipeline
    if pipeline is not None:
        for track in _tracks_consumed(comps):
            loops.append(
                lambda t=track: worker.run(  # type: ignore[misc]
                    comps.queue, t, comps.consumer_id, pipeline, comps.sender.deliver, comps.ledger
                )
            )
            loops.append(lambda t=track: _report_lag(comps, t))  # type: ignore[misc]
        interval = comps.cfg.settings.outbox_interval
        loops.append(lambda: comps.outbox.drain_forever(comps.sender.deliver, interval=interval))
    if comps.relay is not None:
        loops.append(comps.relay.run)
    if role == "serve" and comps.cfg.settings.plugins_dir is not None and comps.plugins is not None:
        loops.append(lambda: reload.watch_plugins(comps))
    if role == "serve" and comps.pipeline is not None:
        loops.append(lambda: reload.follow(comps))
    return loops


async def _supervise(name: str, loop: Callable[[], Awaitable[None]]) -> None:
    """Restart a crashed background loop after a pause instead of losing it silently."""
    while True:
        try:
            await loop()
            return
        except asyncio.CancelledError:
            raise
        except (RedisError, OSError) as exc:  # a dependency is down: /ready says so; no traceback spam
            log.warning(
                "background task lost a dependency; restarting",
                extra={"task": name, "error": type(exc).__name__},
            )
            await asyncio.sleep(1.0)
        except Exception:
            log.exception("background task failed; restarting", extra={"task": name})
            await asyncio.sleep(1.0)


@contextlib.asynccontextmanager
async def running(comps: Components) -> AsyncIterator[None]:
    if comps.router is not None:
        await comps.router.start()
    if comps.plugins is not None:
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
        if comps.plugins is not None:
            await comps.plugins.aclose()


class ParleyApp(FastAPI):
    """FastAPI, with the hot routes served ahead of its middleware stack.

    Webhook acks (platforms retry after a few seconds) and chat messages (`HOT_POSTS`: the chat API,
    the OpenAI-compatible completions) are the paths every message takes; they parse their own bodies
    and answer their own errors, so they need no dependency injection, exception middleware or
    body-limit wrappers (docs/benchmarks.md). Everything else —
    health, metrics, the web page, OpenAPI, WebSockets, the lifespan — goes through FastAPI as usual.

    At most `max_in_flight` hot requests run at once (a streamed answer counts until its last byte);
    the next ones get `asgi.OVERLOADED` (503, Retry-After) at once rather than waiting in an unbounded
    pile. Probes and metrics are not counted: an overloaded process is still alive and observable.
    """

    def __init__(self, *, max_in_flight: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.max_in_flight = max_in_flight
        self.in_flight = 0  # one event loop: a plain counter, no lock

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            target = None
            hot = HOT_POSTS.get(scope["path"]) if scope["method"] == "POST" else None
            if hot is not None or (target := routes_webhook.webhook_target(scope)) is not None:
                scope["app"] = self
                if self.in_flight >= self.max_in_flight:
                    openai = scope["path"] == routes_openai.PATH  # its clients read OpenAI's error shape
                    busy = routes_openai.OVERLOADED if openai else asgi.OVERLOADED
                    await busy(scope, receive, send)
                    return
                self.in_flight += 1
                try:
                    if hot is not None:
                        await hot(scope, receive, send)
                    elif target is not None:
                        await routes_webhook.serve_webhook(scope, receive, send, *target)
                finally:
                    self.in_flight -= 1
                return
        await super().__call__(scope, receive, send)


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

    app = ParleyApp(
        title=f"Parley · {cfg.name}",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        max_in_flight=cfg.settings.max_in_flight,
    )
    app.include_router(routes_ops.router)
    app.include_router(routes_chat.router)
    app.include_router(routes_openai.router)
    app.include_router(routes_webhook.router)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def web_chat() -> HTMLResponse:
        html = (STATIC / "index.html").read_text(encoding="utf-8").replace("{{BOT}}", cfg.name)
        return HTMLResponse(html)

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        return errors.invalid_body(exc.errors())

    @app.exception_handler(NotReady)
    async def not_ready(request: Request, exc: NotReady) -> JSONResponse:
        return JSONResponse({"error": "not ready"}, status_code=503)

    return app
