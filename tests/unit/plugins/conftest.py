"""Factories for plugin tests: real services, messages, metrics and hosts (no mocks)."""

import functools
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

import factories
from parley_runtime.core.messages import InboundMessage
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins.api import Plugin, PluginServices
from parley_runtime.plugins.host import PluginHost

FIXED_NOW = 1_700_000_000.0  # 2023-11-14T22:13:20Z, a Tuesday


class ResetLog:
    """A real `reset_session` callable that remembers whom it reset."""

    def __init__(self) -> None:
        self.messages: list[InboundMessage] = []

    async def __call__(self, message: InboundMessage) -> None:
        self.messages.append(message)


@pytest.fixture
def resets() -> ResetLog:
    return ResetLog()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(599, text="unit tests make no network calls")

    async with httpx.AsyncClient(transport=httpx.MockTransport(refuse)) as client:
        yield client


@pytest.fixture
def services(http: httpx.AsyncClient, resets: ResetLog) -> PluginServices:
    return PluginServices(http=http, clock=lambda: FIXED_NOW, reset_session=resets, bot="helpdesk")


@pytest.fixture
def metrics() -> Metrics:
    return Metrics()


@pytest.fixture
def make_message() -> Callable[..., InboundMessage]:
    return functools.partial(factories.make_inbound, platform="telegram")


@pytest.fixture
def make_host(services: PluginServices, metrics: Metrics) -> Callable[..., PluginHost]:
    def make(
        *plugins: Plugin[Any], configs: dict[str, dict[str, Any]] | None = None, **kw: Any
    ) -> PluginHost:
        return PluginHost.from_plugins(plugins, services=services, metrics=metrics, configs=configs, **kw)

    return make


@pytest.fixture
def plugin_errors(metrics: Metrics) -> Callable[[str], float]:
    """How many exceptions the host contained for a plugin, read from the real Prometheus registry."""

    def count(plugin: str) -> float:
        value = metrics.registry.get_sample_value("parley_plugin_errors_total", {"plugin": plugin})
        return value or 0.0

    return count
