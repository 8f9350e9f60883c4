"""LeaseElector against a fake Lease API on 127.0.0.1 that enforces resourceVersion (409 on stale)."""

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from fakes.http_api import serve
from integration.lease.lease_api import LeaseApi
from integration.lease.lease_harness import Connections, CuttableTransport, eventually
from parley_runtime.gateway.lease import AlwaysLeader, KubeAPI, LeaseElector

LEASE = "helpdesk-gateway-telegram"


@pytest.fixture
def lease_api() -> Iterator[tuple[LeaseApi, str]]:
    api = LeaseApi()
    with serve(api.app) as base_url:
        yield api, base_url


@contextlib.asynccontextmanager
async def replica(
    base_url: str,
    identity: str,
    connections: Connections,
    *,
    token: Path | None = None,
    fail_first: bool = False,
) -> AsyncIterator[tuple[LeaseElector, CuttableTransport]]:
    """One gateway replica running its elector; stopped (and its lease released) on exit."""
    transport = CuttableTransport()
    async with httpx.AsyncClient(transport=transport) as http:
        elector = LeaseElector(
            http, api=KubeAPI(base_url, token_path=token), name=LEASE, namespace="default", identity=identity,
            lease_duration=1.0, renew_interval=0.1,
        )  # fmt: skip
        running = asyncio.create_task(elector.run(connections.task(identity, fail_first=fail_first)))
        try:
            yield elector, transport
        finally:
            running.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await running


async def test_only_one_replica_holds_the_connection_and_another_takes_over(
    lease_api: tuple[LeaseApi, str],
) -> None:
    api, url = lease_api
    conns = Connections()
    async with replica(url, "gw-a", conns) as (a, net_a), replica(url, "gw-b", conns) as (b, net_b):
        await eventually(lambda: len(conns.running) == 1)
        holder = next(iter(conns.running))
        await asyncio.sleep(0.5)  # several renewals later: still exactly one, the same one
        assert conns.started == [holder]
        assert api.holder(LEASE) == holder
        assert [e.is_leader for e in (a, b)].count(True) == 1

        other = "gw-b" if holder == "gw-a" else "gw-a"
        (net_a if holder == "gw-a" else net_b).cut = True  # the holder can no longer renew
        await eventually(lambda: conns.running == {other}, within=5.0)
        assert conns.stopped[0] == holder
        assert api.holder(LEASE) == other
        assert conns.most_at_once == 1  # the old holder stopped before the new one started
        lease = api.leases[("default", LEASE)]["spec"]
        assert lease["leaseTransitions"] == 1
        assert lease["leaseDurationSeconds"] == 1


async def test_a_stale_resource_version_gets_409_and_no_connection(lease_api: tuple[LeaseApi, str]) -> None:
    api, url = lease_api
    async with httpx.AsyncClient() as http:  # an expired lease left behind by a dead replica
        body = {"metadata": {"name": LEASE}, "spec": {"holderIdentity": "gw-dead", "leaseDurationSeconds": 1,
                "renewTime": "2020-01-01T00:00:00.000000Z"}}  # fmt: skip
        created = await http.post(f"{url}/apis/coordination.k8s.io/v1/namespaces/default/leases", json=body)
        assert created.status_code == 201
    api.interfere_before_next_write("gw-intruder")  # wins the race for the expired lease
    conns = Connections()
    async with replica(url, "gw-a", conns):
        await eventually(lambda: api.conflicts == 1)
        await asyncio.sleep(0.3)  # the intruder's fresh lease is valid for 1 s
        assert conns.started == []
        assert api.holder(LEASE) == "gw-intruder"
        # the intruder never renews: once its lease expires, gw-a takes over
        await eventually(lambda: conns.running == {"gw-a"}, within=5.0)
        assert api.holder(LEASE) == "gw-a"


async def test_clean_stop_releases_the_lease_for_a_successor(lease_api: tuple[LeaseApi, str]) -> None:
    api, url = lease_api
    conns = Connections()
    async with replica(url, "gw-a", conns):
        await eventually(lambda: conns.running == {"gw-a"})
    assert conns.stopped == ["gw-a"]
    assert api.holder(LEASE) is None  # released, not left to expire
    async with replica(url, "gw-b", conns):
        await eventually(lambda: conns.running == {"gw-b"})


async def test_a_failed_connection_is_restarted_while_leading(lease_api: tuple[LeaseApi, str]) -> None:
    _, url = lease_api
    conns = Connections()
    async with replica(url, "gw-a", conns, fail_first=True):
        await eventually(lambda: conns.started == ["gw-a", "gw-a"] and conns.running == {"gw-a"})


async def test_service_account_token_is_sent(lease_api: tuple[LeaseApi, str], tmp_path: Path) -> None:
    api, url = lease_api
    token = tmp_path / "token"
    token.write_text("eyJhbGciOi.sa-token\n")
    conns = Connections()
    async with replica(url, "gw-a", conns, token=token):
        await eventually(lambda: conns.running == {"gw-a"})
    assert api.authorization == {"Bearer eyJhbGciOi.sa-token"}


async def test_unreachable_api_never_starts_the_connection(lease_api: tuple[LeaseApi, str]) -> None:
    _, url = lease_api
    conns = Connections()
    async with replica(url, "gw-a", conns) as (elector, net):
        net.cut = True
        await asyncio.sleep(0.5)
        assert conns.started == [] and not elector.is_leader


def test_in_cluster_defaults() -> None:
    api = KubeAPI.in_cluster()
    assert api.base_url == "https://kubernetes.default.svc"
    assert str(api.token_path) == "/var/run/secrets/kubernetes.io/serviceaccount/token"
    assert str(api.ca_path) == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"


async def test_always_leader_runs_at_once() -> None:
    ran: list[str] = []

    async def connection() -> None:
        ran.append("connected")

    await asyncio.wait_for(AlwaysLeader().run(connection), 5)
    assert ran == ["connected"]
