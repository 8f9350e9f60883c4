"""Factories for plugin integration tests: a real HTTP client, real metrics, real messages."""

import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

import factories
from parley_runtime.config.models import PluginSpec
from parley_runtime.core.messages import InboundMessage
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.api import PluginServices
from parley_runtime.plugins.host import PluginHost

FIXED_NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z, a Tuesday


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


async def _no_reset(message: InboundMessage) -> None:
    return None


@pytest.fixture
def services(http: httpx.AsyncClient) -> PluginServices:
    return PluginServices(http=http, clock=lambda: FIXED_NOW, reset_session=_no_reset, bot="helpdesk")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def make_message() -> Callable[..., InboundMessage]:
    return functools.partial(factories.make_inbound, platform="http")


@pytest.fixture
def load_host(services: PluginServices, metrics: Metrics) -> Callable[..., PluginHost]:
    """`load_host([{"name": "clock", "config": {...}}], plugins_dir=...)`, as `parley serve` does."""

    def load(specs: list[dict[str, Any]], **kw: Any) -> PluginHost:
        validated = [PluginSpec.model_validate(s) for s in specs]
        return PluginHost.load(validated, services=services, metrics=metrics, source="bot.yaml", **kw)

    return load
