"""Builds every long-lived component of a role once, and closes them in reverse order.

`parley serve` gets SQLite sessions and dedup, an in-process queue and limiter; the cluster roles get
the Redis implementations. The gateway builds no model router, plugins or pipeline: it never calls an
LLM (its pod may not even hold the keys). In the engine role, replies for bindings whose connection a
gateway holds (OneBot) go through the Redis send relay. Nothing here runs at import time.
"""

import asyncio
import contextlib
import logging
import os
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import redis.asyncio as aioredis

from parley_runtime.app.bootstrap import RuntimeConfig, redis_url
from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.core.protocols import DedupStore, MessageQueue, PlatformAdapter, RateLimiter, SessionStore
from parley_runtime.engine.pipeline import Pipeline, session_key
from parley_runtime.gateway import lease
from parley_runtime.gateway.intake import EnqueueOnce, Intake
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.limits.memory import InProcessRateLimiter
from parley_runtime.limits.redis import RedisDedupStore, RedisRateLimiter
from parley_runtime.limits.sqlite import SqliteDedupStore
from parley_runtime.llm.aiohttp_transport import SharedClient
from parley_runtime.llm.router import Router, build_router
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms import registry
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.plugins.api import PluginServices
from parley_runtime.plugins.host import PluginHost
from parley_runtime.queue import deadletter_redis, deadletter_sqlite, outbox, send_relay
from parley_runtime.queue.memory import InProcessQueue
from parley_runtime.queue.outbound import DeadLetterStore, OutboundSender
from parley_runtime.queue.redis_streams import RedisStreamsQueue
from parley_runtime.sessions.redis import RedisSessionStore
from parley_runtime.sessions.sqlite import SqliteSessionStore
from parley_runtime.sessions.write_behind import WriteBehindSessionStore

log = logging.getLogger("parley.app")

HTTP_TIMEOUT = httpx.Timeout(30.0, connect=5.0)

# Platforms whose connection is opened by the platform towards one gateway replica: in the cluster an
# engine's reply must travel to that replica (queue/send_relay.py).
RELAYED_PLATFORMS = frozenset({"onebot"})
RELAY_MARGIN_SECONDS = 5.0  # on top of the adapter's own action timeout


@dataclass
class Components:
    cfg: RuntimeConfig
    metrics: Metrics
    http: httpx.AsyncClient
    router: Router | None  # None in the gateway role, which never calls a model
    sessions: SessionStore
    limiter: RateLimiter
    dedup: DedupStore
    queue: MessageQueue
    plugins: PluginHost | None
    pipeline: Pipeline | None
    routes: RouteTable
    adapters: dict[str, PlatformAdapter]
    dead_letters: DeadLetterStore
    outbox: outbox.Outbox
    sender: OutboundSender
    intake: Intake
    redis: aioredis.Redis | None = None
    relay: send_relay.RelayClient | None = None  # engines in a cluster with relayed bindings
    consumer_id: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}")

    _kube: httpx.AsyncClient | None = None

    def kube_http(self, api: lease.KubeAPI) -> httpx.AsyncClient:
        """One client for the Kubernetes API, made on first use (only gateways holding leases)."""
        if self._kube is None:
            self._kube = lease.kube_client(api)
        return self._kube

    async def aclose_kube(self) -> None:
        if self._kube is not None:
            await self._kube.aclose()

    def platform_of(self, binding: str) -> str | None:
        for b in self.cfg.bindings:
            if b.obj.name == binding:
                return b.obj.spec.platform
        return None

    async def ping(self) -> str | None:
        """None when every dependency answers, else the reason (for /ready)."""
        if self.redis is not None:
            try:
                await asyncio.wait_for(self.redis.ping(), timeout=2.0)
            except Exception as exc:  # any failure means not ready
                return f"redis: {type(exc).__name__}"
        return None


def consumer_name(cfg: RuntimeConfig) -> str:
    """Unique per process: the pod name when the operator sets it, plus the pid."""
    return f"{cfg.settings.pod_name or socket.gethostname()}-{os.getpid()}"


def relay_timeouts(cfg: RuntimeConfig) -> dict[str, float]:
    """Bindings whose replies an engine hands to a gateway, with the wait for its answer."""
    found: dict[str, float] = {}
    for b in cfg.bindings:
        if b.obj.spec.platform in RELAYED_PLATFORMS:
            action = getattr(b.obj.spec.typed_settings(), "action_timeout_seconds", 10.0)
            found[b.obj.name] = float(action) + RELAY_MARGIN_SECONDS
    return found


def data_file(cfg: RuntimeConfig) -> Path:
    path = Path(cfg.settings.data_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path / "parley.sqlite3"


@contextlib.asynccontextmanager
async def build(cfg: RuntimeConfig, *, metrics: Metrics | None = None) -> AsyncIterator[Components]:
    """All components for `cfg.settings.role`; raises ConfigError before anything listens."""
    metrics = metrics or Metrics()
    spec = cfg.bot.obj.spec
    async with contextlib.AsyncExitStack() as stack:
        http = await stack.enter_async_context(
            # aiohttp underneath httpx's API: httpx's own pool costs several times more CPU per call
            # (docs/benchmarks.md, "LLM router").
            SharedClient(max_connections=512, timeout=HTTP_TIMEOUT, follow_redirects=False)
        )
        url = redis_url(cfg) if cfg.settings.role != "serve" else cfg.settings.redis_url
        client: aioredis.Redis | None = None
        if url:
            client = aioredis.Redis.from_url(url)
            stack.push_async_callback(client.aclose)
        sessions: SessionStore
        limiter: RateLimiter
        dedup: DedupStore
        queue: MessageQueue
        dead_letters: DeadLetterStore
        box: outbox.Outbox
        enqueue_once: EnqueueOnce | None = None
        if client is None:
            db = data_file(cfg)
            sessions = WriteBehindSessionStore(await SqliteSessionStore.open(db))
            limiter = InProcessRateLimiter(clock=time.monotonic)
            dedup = await SqliteDedupStore.open(db)
            queue = InProcessQueue()
            dead_letters = await deadletter_sqlite.SqliteDeadLetterStore.open(db, bot=cfg.name)
            box = await outbox.SqliteOutbox.open(db, bot=cfg.name)
        else:
            sessions = RedisSessionStore(client)
            limiter = RedisRateLimiter(client)
            redis_dedup = dedup = RedisDedupStore(client)
            redis_queue = queue = RedisStreamsQueue(
                client, bot=cfg.name, visibility_timeout=cfg.settings.queue_visibility_timeout
            )

            async def enqueue_once(message: InboundMessage, key: str, ttl: float) -> bool:
                return await redis_queue.put_if_first(message, redis_dedup.redis_key(key), ttl)

            dead_letters = deadletter_redis.RedisDeadLetterStore(client, bot=cfg.name)
            box = outbox.RedisOutbox(client, bot=cfg.name)
        stack.push_async_callback(sessions.close)
        stack.push_async_callback(queue.close)
        for closeable in (dedup, dead_letters, box):
            close = getattr(closeable, "close", None)
            if close is not None:
                stack.push_async_callback(close)

        router: Router | None = None
        plugins: PluginHost | None = None
        pipeline: Pipeline | None = None
        if cfg.settings.role != "gateway":
            router = build_router(spec.models, cfg.secrets, http, metrics)
            stack.push_async_callback(router.aclose)

            async def reset_session(message: InboundMessage) -> None:
                await sessions.clear(session_key(message))

            services = PluginServices(http=http, clock=time.time, reset_session=reset_session, bot=cfg.name)
            plugins = PluginHost.load(
                spec.plugins,
                services=services,
                metrics=metrics,
                plugins_dir=cfg.settings.plugins_dir,
                source=cfg.bot.source,
            )
            pipeline = Pipeline(
                spec,
                model=router,
                sessions=sessions,
                limiter=limiter,
                plugins=plugins,
                metrics=metrics,
                clock=time.time,
            )
        adapters = {
            b.obj.name: registry.factory(b.obj.spec.platform)(
                AdapterContext(
                    bot=cfg.name,
                    binding=b.obj.name,
                    platform=b.obj.spec.platform,
                    credentials=cfg.secrets.credentials.get(b.obj.name, {}),
                    settings=b.obj.spec.typed_settings(),
                    http=http,
                    metrics=metrics,
                    clock=time.time,
                )
            )
            for b in cfg.bindings
        }

        relay: send_relay.RelayClient | None = None
        relayed: dict[str, float] = {}  # binding -> how long to wait for the gateway's answer
        if client is not None and cfg.settings.role == "engine":
            relayed = relay_timeouts(cfg)
            if relayed:
                relay = send_relay.RelayClient(client, bot=cfg.name, consumer=consumer_name(cfg))

        async def send(message: OutboundMessage) -> None:
            binding = message.inbound.binding
            if relay is not None and binding in relayed:
                await relay.send(message, wait_seconds=relayed[binding])
            else:
                await adapters[binding].send(message)

        sender = OutboundSender(send, dead_letters, metrics=metrics)
        routes = RouteTable(cfg.settings.route_file, time.monotonic)
        comps = Components(
            cfg=cfg,
            metrics=metrics,
            http=http,
            router=router,
            sessions=sessions,
            limiter=limiter,
            dedup=dedup,
            queue=queue,
            plugins=plugins,
            pipeline=pipeline,
            routes=routes,
            adapters=adapters,
            dead_letters=dead_letters,
            outbox=box,
            sender=sender,
            intake=Intake(
                dedup=dedup, queue=queue, routes=routes, metrics=metrics, enqueue_once=enqueue_once
            ),
            redis=client,
            relay=relay,
            consumer_id=consumer_name(cfg),
        )
        stack.push_async_callback(comps.aclose_kube)
        yield comps
