"""Builds every long-lived component of a role once, and closes them in reverse order.

`parley serve` gets one SQLite file (a durable queue with its de-duplication marks and sent-reply
ledger, sessions, dead letters) and an in-process limiter; the cluster roles get the Redis
implementations. The gateway builds no model router, plugins or pipeline: it never calls an
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
from typing import TYPE_CHECKING

import httpx
import redis.asyncio as aioredis

from parley_runtime.app.bootstrap import RuntimeConfig, redis_url
from parley_runtime.budget.guard import BudgetGuard
from parley_runtime.budget.redis import RedisBudgetStore
from parley_runtime.budget.sqlite import SqliteBudgetStore
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.core.protocols import (
    BudgetStore,
    MediaSource,
    MessageQueue,
    Outbox,
    PlatformAdapter,
    Plugins,
    RateLimiter,
    SentLedger,
    SessionStore,
)
from parley_runtime.engine import media as engine_media
from parley_runtime.engine.pipeline import Pipeline, session_key
from parley_runtime.gateway import lease
from parley_runtime.gateway.intake import Intake
from parley_runtime.gateway.routing import RouteTable
from parley_runtime.limits.memory import InProcessRateLimiter
from parley_runtime.limits.redis import RedisRateLimiter
from parley_runtime.llm.aiohttp_transport import SharedClient
from parley_runtime.llm.router import Router, build_router
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms import registry
from parley_runtime.platforms.base import AdapterContext
from parley_runtime.platforms.common import media as platform_media
from parley_runtime.plugins.api import PluginServices
from parley_runtime.plugins.host import PluginHost
from parley_runtime.queue import deadletter_redis, deadletter_sqlite, outbox, send_relay
from parley_runtime.queue.ledger_redis import RedisLedger
from parley_runtime.queue.outbound import DeadLetterStore, OutboundSender
from parley_runtime.queue.redis_streams import RedisStreamsQueue
from parley_runtime.queue.reply_route import ReplyRoute
from parley_runtime.queue.sqlite_queue import SqliteQueue
from parley_runtime.sessions.redis import RedisSessionStore
from parley_runtime.sessions.sqlite import SqliteSessionStore
from parley_runtime.sessions.write_behind import WriteBehindSessionStore

if TYPE_CHECKING:
    from parley_runtime.mcp_client.toolset import McpTools

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
    queue: MessageQueue
    ledger: SentLedger
    plugins: PluginHost | None
    pipeline: Pipeline | None
    routes: RouteTable
    adapters: dict[str, PlatformAdapter]
    dead_letters: DeadLetterStore
    outbox: Outbox
    sender: OutboundSender
    intake: Intake
    redis: aioredis.Redis | None = None
    relay: send_relay.RelayClient | None = None  # engines in a cluster with relayed bindings
    stores: "Stores | None" = None  # what engine parts are rebuilt on when the manifest is reloaded
    mcp: "McpTools | None" = None
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


@dataclass
class Stores:
    """Where a role keeps its state: the SQLite file of `parley serve`, or the cluster's Redis."""

    sessions: SessionStore
    limiter: RateLimiter
    queue: MessageQueue
    ledger: SentLedger
    dead_letters: DeadLetterStore
    outbox: Outbox
    budget: BudgetStore | None = None  # only with spec.budget


def budgeted(cfg: RuntimeConfig) -> bool:
    """Whether the bot has a daily budget to keep (and its roles that answer need a budget store)."""
    budget = cfg.bot.obj.spec.budget
    return budget is not None and budget.limits_anything and cfg.settings.role != "gateway"


async def local_stores(cfg: RuntimeConfig, stack: contextlib.AsyncExitStack) -> Stores:
    """`parley serve`: one SQLite file in the data folder; accepted messages survive a restart."""
    db = data_file(cfg)
    queue = await SqliteQueue.open(db, bot=cfg.name)
    stack.push_async_callback(queue.close)
    sessions = WriteBehindSessionStore(await SqliteSessionStore.open(db))
    stack.push_async_callback(sessions.close)
    dead_letters = await deadletter_sqlite.SqliteDeadLetterStore.open(db, bot=cfg.name)
    stack.push_async_callback(dead_letters.close)
    box = await outbox.SqliteOutbox.open(db, bot=cfg.name)
    stack.push_async_callback(box.close)
    budget: BudgetStore | None = None
    if budgeted(cfg):
        budget = await SqliteBudgetStore.open(db)
        stack.push_async_callback(budget.close)
    return Stores(
        sessions=sessions,
        limiter=InProcessRateLimiter(clock=time.monotonic),
        queue=queue,
        ledger=queue.ledger(),
        dead_letters=dead_letters,
        outbox=box,
        budget=budget,
    )


def redis_stores(cfg: RuntimeConfig, client: aioredis.Redis, stack: contextlib.AsyncExitStack) -> Stores:
    """The cluster roles: everything shared through one Redis, which the caller owns."""
    queue = RedisStreamsQueue(client, bot=cfg.name, visibility_timeout=cfg.settings.queue_visibility_timeout)
    stack.push_async_callback(queue.close)
    return Stores(
        sessions=RedisSessionStore(client),
        limiter=RedisRateLimiter(client),
        queue=queue,
        ledger=RedisLedger(client, bot=cfg.name),
        dead_letters=deadletter_redis.RedisDeadLetterStore(client, bot=cfg.name),
        outbox=outbox.RedisOutbox(client, bot=cfg.name),
        budget=RedisBudgetStore(client) if budgeted(cfg) else None,
    )


def engine_parts(
    cfg: RuntimeConfig,
    stores: Stores,
    http: httpx.AsyncClient,
    metrics: Metrics,
    adapters: dict[str, PlatformAdapter],
    *,
    mcp: "McpTools | None" = None,
) -> tuple[Router, PluginHost, Pipeline]:
    """The model router, the plugins and the pipeline: only roles that answer messages build them.

    The pipeline fetches media through the adapter of the message's binding; the chat API's http(s)
    image URLs, which no adapter received, through the shared client. With MCP servers, their tools
    join the plugins' own (docs/mcp.md)."""
    spec = cfg.bot.obj.spec
    router = build_router(spec.models, cfg.secrets, http, metrics)
    sessions = stores.sessions

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
    sources: dict[tuple[str, str], MediaSource] = {}
    for b in cfg.bindings:
        adapter = adapters.get(b.obj.name)
        if isinstance(adapter, MediaSource):
            sources[b.obj.spec.platform, b.obj.name] = adapter

    private_ok = cfg.settings.media_private_urls

    async def download(attachment: Attachment, url: str, max_bytes: int) -> bytes:
        """A picture URL a caller named (chat API, HTTP binding): public addresses only."""
        if not private_ok:
            await platform_media.ensure_public(attachment, url)
        return await platform_media.download(http, attachment, url, max_bytes=max_bytes)

    guard: BudgetGuard | None = None
    if stores.budget is not None and spec.budget is not None:
        guard = BudgetGuard(cfg.name, spec.budget, spec.models, stores.budget, metrics)
    pipeline = Pipeline(
        spec,
        model=router,
        sessions=sessions,
        limiter=stores.limiter,
        plugins=tools_of(plugins, mcp),
        metrics=metrics,
        clock=time.time,
        fetch=engine_media.fetcher(sources, download),
        budget=guard,
    )
    return router, plugins, pipeline


def tools_of(plugins: PluginHost, mcp: "McpTools | None") -> Plugins:
    """The plugin host as it is, or with the MCP servers' tools beside its own."""
    if mcp is None:
        return plugins
    from parley_runtime.mcp_client.combined import WithMcpTools

    return WithMcpTools(plugins, mcp)


async def mcp_tools(cfg: RuntimeConfig, stack: contextlib.AsyncExitStack) -> "McpTools | None":
    """The bot's MCP servers, connecting in the background (None without any): a server that is slow
    or down delays neither readiness nor replies; all are closed with the stack."""
    servers = cfg.bot.obj.spec.mcp_servers
    if not servers:
        return None
    # Imported here: the MCP SDK costs ~0.4 s and tens of MB at start-up, paid only by bots that use it.
    from parley_runtime.mcp_client.toolset import McpTools

    mcp = McpTools.from_specs(servers, cfg.secrets)
    stack.push_async_callback(mcp.aclose)
    await mcp.start()
    return mcp


def build_adapters(
    cfg: RuntimeConfig, http: httpx.AsyncClient, metrics: Metrics, ledger: SentLedger
) -> dict[str, PlatformAdapter]:
    return {
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
                ledger=ledger,
            )
        )
        for b in cfg.bindings
    }


@contextlib.asynccontextmanager
async def build(cfg: RuntimeConfig, *, metrics: Metrics | None = None) -> AsyncIterator[Components]:
    """All components for `cfg.settings.role`; raises ConfigError before anything listens."""
    metrics = metrics or Metrics()
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
            stores = redis_stores(cfg, client, stack)
        else:
            stores = await local_stores(cfg, stack)

        router: Router | None = None
        plugins: PluginHost | None = None
        pipeline: Pipeline | None = None
        mcp: McpTools | None = None
        adapters = build_adapters(cfg, http, metrics, stores.ledger)
        if cfg.settings.role != "gateway":
            mcp = await mcp_tools(cfg, stack)
            router, plugins, pipeline = engine_parts(cfg, stores, http, metrics, adapters, mcp=mcp)
            stack.push_async_callback(router.aclose)

        relay: send_relay.RelayClient | None = None
        relayed: dict[str, float] = {}  # binding -> how long to wait for the gateway's answer
        if client is not None and cfg.settings.role == "engine":
            relayed = relay_timeouts(cfg)
            if relayed:
                relay = send_relay.RelayClient(client, bot=cfg.name, consumer=consumer_name(cfg))
        route = ReplyRoute(adapters, relay=relay, relayed=relayed)
        sender = OutboundSender(route.send, stores.dead_letters, metrics=metrics)
        routes = RouteTable(cfg.settings.route_file, time.monotonic)
        comps = Components(
            cfg=cfg,
            metrics=metrics,
            http=http,
            router=router,
            sessions=stores.sessions,
            limiter=stores.limiter,
            queue=stores.queue,
            ledger=stores.ledger,
            plugins=plugins,
            pipeline=pipeline,
            routes=routes,
            adapters=adapters,
            dead_letters=stores.dead_letters,
            outbox=stores.outbox,
            sender=sender,
            intake=Intake(
                queue=stores.queue,
                routes=routes,
                metrics=metrics,
                policies={(cfg.name, b.obj.name): b.obj.spec.group for b in cfg.bindings},
            ),
            redis=client,
            relay=relay,
            consumer_id=consumer_name(cfg),
            stores=stores,
            mcp=mcp,
        )
        stack.push_async_callback(comps.aclose_kube)
        yield comps
