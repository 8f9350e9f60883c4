"""The `bench` fixture: pipelines over in-process providers, real sessions, limiter and plugin host."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from unit.engine.bench import Bench, open_bench


@pytest.fixture
async def bench(tmp_path: Path) -> AsyncIterator[Bench]:
    async with open_bench(tmp_path) as made:
        yield made
