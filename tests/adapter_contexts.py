"""A factory for the real `AdapterContext` platform adapters are built from, shared by every test tier."""

from collections.abc import Callable, Mapping
from typing import Any

import httpx

from parley_runtime.config.platforms import PlatformSettings, validate_settings
from parley_runtime.core.ledger import NoLedger
from parley_runtime.core.protocols import SentLedger
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms.base import AdapterContext

__all__ = ["make_adapter_context"]


def _epoch() -> float:
    return 0.0


def make_adapter_context(
    platform: str,
    *,
    http: httpx.AsyncClient,
    credentials: Mapping[str, str] | None = None,
    settings: PlatformSettings | Mapping[str, Any] | None = None,
    clock: Callable[[], float] = _epoch,
    bot: str = "helpdesk",
    binding: str | None = None,
    metrics: Metrics | None = None,
    ledger: SentLedger | None = None,
) -> AdapterContext:
    """The context of binding `<bot>-<platform>`; `settings` is a settings model or the binding's
    `settings` mapping as written in a manifest (camelCase keys), validated for `platform`."""
    if not isinstance(settings, PlatformSettings):
        settings = validate_settings(platform, dict(settings or {}))
    return AdapterContext(
        bot=bot,
        binding=binding or f"{bot}-{platform}",
        platform=platform,
        credentials=dict(credentials or {}),
        settings=settings,
        http=http,
        metrics=Metrics() if metrics is None else metrics,
        clock=clock,
        ledger=NoLedger() if ledger is None else ledger,
    )
