"""`parley serve` follows its manifest: a valid edit takes effect without a restart and without
dropping a message in flight; an invalid one is one log line, and the running config stays.

What an edit changes at once: everything the engine decides from (persona, models, plugins, session
and rate limits, media, speech, budgets once a budget store exists) and each binding's group policy.
What needs a restart, and says so in the log: a binding added or removed, its platform, credentials
or settings, `mcpServers`, a budget where none was. The pipeline object stays (the worker and the
chat routes hold it) and adopts the parts built from the new config; the previous router and plugins
are closed after a grace period, so the calls already running on them finish.
"""

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from parley_runtime.app import bootstrap, components
from parley_runtime.app.bootstrap import RuntimeConfig
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.models import PlatformBinding

log = logging.getLogger("parley.reload")

POLL_SECONDS = 1.0
GRACE_SECONDS = 60.0  # longer than a model call's timeout plus its retries, in practice


def fingerprint(paths: Sequence[Path]) -> str:
    """What the manifest files hold now (a missing file counts as empty, mid-save editors included)."""
    digest = hashlib.sha256()
    for path in paths:
        try:
            digest.update(path.read_bytes())
        except OSError:
            digest.update(b"\0missing")
        digest.update(b"\0")
    return digest.hexdigest()


def _wiring(binding: PlatformBinding) -> object:
    """A binding as far as its adapter goes: what a reload cannot change without a restart."""
    return binding.spec.model_dump(exclude={"group"})


def needs_restart(old: RuntimeConfig, new: RuntimeConfig) -> list[str]:
    """What of the edit the running process cannot take on (pure)."""
    reasons: list[str] = []
    before = {b.obj.metadata.name: _wiring(b.obj) for b in old.bindings}
    after = {b.obj.metadata.name: _wiring(b.obj) for b in new.bindings}
    if before != after or old.secrets.credentials != new.secrets.credentials:
        reasons.append("bindings")
    if old.bot.obj.spec.mcp_servers != new.bot.obj.spec.mcp_servers:
        reasons.append("mcpServers")
    if old.bot.obj.metadata.name != new.bot.obj.metadata.name:
        reasons.append("the bot's name")
    return reasons


async def apply(comps: components.Components, cfg: RuntimeConfig) -> None:
    """Take `cfg` on: new router, plugins and pipeline parts; new group policies; the old parts
    closed once the grace period is over."""
    assert comps.pipeline is not None and comps.stores is not None and comps.router is not None
    skipped = needs_restart(comps.cfg, cfg)
    if skipped:
        log.warning("manifest edit needs a restart for: " + ", ".join(skipped))
    stores = comps.stores
    if cfg.bot.obj.spec.budget is not None and stores.budget is None:
        log.warning("manifest edit needs a restart for: a budget (no budget store was opened)")
    router, plugins, pipeline = components.engine_parts(
        cfg, stores, comps.http, comps.metrics, comps.adapters, mcp=comps.mcp
    )
    await router.start()
    await plugins.start()
    old_router, old_plugins = comps.router, comps.plugins
    comps.pipeline.adopt(pipeline)
    comps.router, comps.plugins = router, plugins
    comps.intake.policies = {(cfg.name, b.obj.name): b.obj.spec.group for b in cfg.bindings}
    comps.cfg = cfg
    log.info("manifest reloaded", extra={"bot": cfg.name})

    async def retire() -> None:
        await asyncio.sleep(GRACE_SECONDS)
        await old_router.aclose()
        if old_plugins is not None:
            await old_plugins.aclose()

    task = asyncio.create_task(retire(), name="retire previous config")
    _retiring.add(task)
    task.add_done_callback(_retiring.discard)


_retiring: set[asyncio.Task[None]] = set()


async def follow(
    comps: components.Components,
    *,
    poll_seconds: float = POLL_SECONDS,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> None:
    """Poll the manifest files; reload on every change that parses (serve role only)."""
    settings = comps.cfg.settings
    paths = list(settings.config_files)
    seen = fingerprint(paths)
    while True:
        await sleep(poll_seconds)
        now = fingerprint(paths)
        if now == seen:
            continue
        seen = now
        try:
            cfg = bootstrap.load(settings)
        except ConfigError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            log.warning("manifest edit refused; the running config stays", extra={"error": first})
            continue
        await apply(comps, cfg)


async def watch_plugins(comps: components.Components) -> None:
    """Hot reload of folder plugins for whichever plugin host is current: a manifest reload replaces
    the host, and the previous one's watch ends when it is retired."""
    while (host := comps.plugins) is not None:
        await host.watch()  # returns once `host` is closed
        if comps.plugins is host:  # closed without a successor: the process is stopping
            return
