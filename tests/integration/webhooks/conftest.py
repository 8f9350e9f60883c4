"""Fixtures of the end-to-end webhook tests: a platform driver (its fake API running) and the real app."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from integration.webhooks.drivers.base import Driver
from integration.webhooks.drivers.catalog import DRIVERS
from integration.webhooks.harness import Parley, running_parley


@pytest.fixture
def driver(request: pytest.FixtureRequest) -> Iterator[Driver]:
    with DRIVERS[request.param]() as drv:
        yield drv


@pytest.fixture
async def parley(tmp_path: Path, driver: Driver) -> AsyncIterator[Parley]:
    async with running_parley(tmp_path, [driver.binding]) as app:
        yield app
