"""`parley serve|gateway|engine`: load and check everything, then listen.

Configuration problems surface as `ConfigError` before the port opens, so the CLI can print one
line and exit 2.
"""

import argparse
import asyncio
import gc
import logging
import signal
from collections.abc import Callable

import uvicorn
from fastapi import FastAPI

from parley_runtime.app import bootstrap, components
from parley_runtime.app.factory import create_app
from parley_runtime.config.settings import RuntimeSettings
from parley_runtime.observability import logs
from parley_runtime.plugins import packages as plugin_packages

log = logging.getLogger("parley.server")

GC_GEN0_THRESHOLD = 50_000
GC_GEN2_THRESHOLD = 100
# An idle keep-alive connection is closed by the client, never by us: a server that closes first races
# a client that is just reusing the connection, and that request dies with a reset (httpx.ReadError,
# aiohttp's ServerDisconnectedError). So we wait longer than the pools that call us keep connections
# idle — the gateway's aiohttp pool towards engines (15 s), httpx (5 s), load balancers (60 s);
# 75 s is nginx's own default.
KEEP_ALIVE_SECONDS = 75


def _tune_gc() -> None:
    """Move start-up objects out of the collector's way and collect young objects less often.

    A request allocates thousands of short-lived objects; with CPython's default thresholds the
    collector runs every few requests and its full collections walk everything the app keeps alive,
    which shows up as latency spikes at the p99. Frozen start-up objects are never scanned again, and
    full collections become rare (docs/benchmarks.md, "Webhook ack": p99 215 → 16 ms).
    """
    gc.collect()
    gc.freeze()
    gen1 = gc.get_threshold()[1]
    gc.set_threshold(GC_GEN0_THRESHOLD, gen1, GC_GEN2_THRESHOLD)


def uvicorn_config(app: FastAPI, settings: RuntimeSettings) -> uvicorn.Config:
    """How every role listens; the in-flight bound itself is the app's (`factory.ParleyApp`)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=10,
        timeout_keep_alive=KEEP_ALIVE_SECONDS,
        server_header=False,
        proxy_headers=False,  # nothing here reads the client address; saves work on every request
    )


def _stop_requested(signum: int, _frame: object) -> None:
    """SIGTERM after uvicorn has shut down: the stores still have to close (and flush) on the way out."""
    log.info("stopping", extra={"signal": signal.Signals(signum).name})


async def _serve(cfg: bootstrap.RuntimeConfig) -> None:
    async with components.build(cfg) as comps:
        app = create_app(cfg, comps)
        _tune_gc()
        server = uvicorn.Server(uvicorn_config(app, cfg.settings))
        # uvicorn handles SIGTERM itself (graceful shutdown), then raises it again for the handler it
        # found; with the default one the process would die before the components close, losing the
        # session turns not yet flushed. This one lets the `async with` finish instead.
        signal.signal(signal.SIGTERM, _stop_requested)
        log.info("listening", extra={"bot": cfg.name, "role": cfg.settings.role, "port": cfg.settings.port})
        await server.serve()
        if not server.started:
            raise OSError(f"could not listen on {cfg.settings.host}:{cfg.settings.port}")


def _loop_factory() -> "Callable[[], asyncio.AbstractEventLoop] | None":
    """uvloop where it is installed (it comes with uvicorn[standard]): about 10% less CPU per message."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def run(role: str, args: argparse.Namespace) -> int:
    settings = bootstrap.settings_from_args(role, args)
    logs.configure(settings.log_level, fmt=settings.log_format)
    cfg = bootstrap.load(settings)  # ConfigError → exit 2 in the CLI
    hidden = [*cfg.secrets.values(), *([cfg.internal_token] if cfg.internal_token else [])]
    logs.configure(settings.log_level, fmt=settings.log_format, secrets=hidden)
    if role != "gateway":  # the roles that load plugins need their packages first
        spec = cfg.bot.obj.spec
        plugin_packages.prepare(
            spec.plugins,
            source=cfg.bot.source,
            subject=f"ChatBot/{cfg.name}",
            packages_dir=settings.plugin_packages_dir,
            index_url=cfg.secrets.get(plugin_packages.index_ref(spec.plugins)),
        )  # ConfigError → exit 2 in the CLI
    try:
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(_serve(cfg))
    except OSError as exc:
        print(f"parley: error: {exc}", flush=True)
        return 1
    return 0
