"""What the lease tests need around the electors: a network that can be cut, and a record of which
replica's long connection is running."""

import asyncio
import time
from collections.abc import Awaitable, Callable

import httpx


class CuttableTransport(httpx.AsyncBaseTransport):
    """A real HTTP transport whose link can be cut, like a network partition of one replica."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.cut = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self.cut:
            raise httpx.ConnectError("network partition", request=request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


class Connections:
    """Stands in for the long connection each replica runs while it leads."""

    def __init__(self) -> None:
        self.running: set[str] = set()
        self.started: list[str] = []
        self.stopped: list[str] = []
        self.most_at_once = 0

    def task(self, replica: str, *, fail_first: bool = False) -> Callable[[], Awaitable[None]]:
        async def hold_connection() -> None:
            self.started.append(replica)
            self.running.add(replica)
            self.most_at_once = max(self.most_at_once, len(self.running))
            try:
                if fail_first and self.started.count(replica) == 1:
                    raise ConnectionResetError("platform closed the socket")
                await asyncio.Event().wait()
            finally:
                self.running.discard(replica)
                self.stopped.append(replica)

        return hold_connection


async def eventually(condition: Callable[[], bool], *, within: float = 10.0) -> None:
    """Waits for `condition` with a deadline (a failure, not a timing assertion)."""
    deadline = time.monotonic() + within
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached before the deadline")
        await asyncio.sleep(0.02)
