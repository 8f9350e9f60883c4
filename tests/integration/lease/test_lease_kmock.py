"""Smoke test of LeaseElector against KMock, the Kubernetes API emulator.

KMock has no optimistic concurrency (a stale resourceVersion is accepted, never 409), so races are
covered by test_lease_elector.py's fake; this shows the requests and object shapes work against an
emulator of the real API: create, read, merge-patch renewals, takeover of an expired lease.
"""

import asyncio
import contextlib
from collections.abc import Iterator

import httpx
import pytest

from fakes.kmock_harness import KMockThread
from integration.lease.lease_harness import Connections, CuttableTransport, eventually
from parley_runtime.gateway.lease import KubeAPI, LeaseElector


@pytest.fixture
def kmock_url() -> Iterator[str]:
    with KMockThread() as k:
        yield k.url


async def test_two_replicas_one_connection_then_takeover_on_kmock(kmock_url: str) -> None:
    conns = Connections()
    nets = {name: CuttableTransport() for name in ("gw-a", "gw-b")}
    clients = {name: httpx.AsyncClient(transport=net) for name, net in nets.items()}
    electors = {
        name: LeaseElector(
            clients[name],
            api=KubeAPI(kmock_url),
            name="helpdesk-gateway-onebot",
            namespace="bots",
            identity=name,
            lease_duration=1.0,
            renew_interval=0.1,
        )
        for name in nets
    }
    runs = [asyncio.create_task(e.run(conns.task(name))) for name, e in electors.items()]
    try:
        await eventually(lambda: len(conns.running) == 1)
        holder = next(iter(conns.running))
        await asyncio.sleep(0.4)
        assert conns.started == [holder]
        lease = (await clients[holder].get(
            f"{kmock_url}/apis/coordination.k8s.io/v1/namespaces/bots/leases/helpdesk-gateway-onebot"
        )).json()  # fmt: skip
        assert lease["spec"]["holderIdentity"] == holder

        other = "gw-b" if holder == "gw-a" else "gw-a"
        nets[holder].cut = True
        await eventually(lambda: conns.running == {other}, within=5.0)
        assert conns.most_at_once == 1
    finally:
        for run in runs:
            run.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await run
        for client in clients.values():
            await client.aclose()
