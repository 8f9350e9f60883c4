"""What every adapter factory receives."""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import httpx

from parley_runtime.config.platforms import PlatformSettings
from parley_runtime.observability.metrics import Metrics


@dataclass(frozen=True)
class AdapterContext:
    bot: str
    binding: str
    platform: str
    credentials: Mapping[str, str] = field(repr=False)
    settings: PlatformSettings
    http: httpx.AsyncClient
    metrics: Metrics
    clock: Callable[[], float]  # time.time in production; a fake in tests
