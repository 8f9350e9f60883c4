"""Telegram long polling in the cluster: of two gateways only the Lease holder polls; when it is killed
the other takes the Lease over and polls instead.

Each gateway talks to its own fake Telegram (same bot, same binding, different `apiBase`), so the fake
that receives `getUpdates` tells which replica is polling. The Lease API is a fake on 127.0.0.1 that
enforces resourceVersion like a real API server (`PARLEY_KUBE_API_URL`).
"""

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from factories import binding_doc, chatbot_doc
from fakes.http_api import serve
from fakes.redis_server import running_redis
from fakes.telegram_api import FakeTelegram
from integration.lease.lease_api import LeaseApi
from integration.split.harness import Parley, eventually, start_all, stop_all, write_manifest, write_secrets

TOKEN = "123:telegram-bot-token"
LEASE = "pollbot-pollbot-telegram"  # <bot>-<binding>


@pytest.fixture
def gateways(tmp_path: Path) -> Iterator[tuple[LeaseApi, dict[str, tuple[Parley, FakeTelegram]]]]:
    leases = LeaseApi()
    fakes = {pod: FakeTelegram(TOKEN) for pod in ("gateway-a", "gateway-b")}
    with (
        running_redis(tmp_path / "redis") as redis,
        serve(leases.app) as kube_url,
        serve(fakes["gateway-a"].api.app) as telegram_a,
        serve(fakes["gateway-b"].api.app) as telegram_b,
    ):
        secrets = write_secrets(tmp_path / "s", {"tg/botToken": TOKEN, "tg/secretToken": "hook-secret"})
        found: dict[str, tuple[Parley, FakeTelegram]] = {}
        for pod, api_base in (("gateway-a", telegram_a), ("gateway-b", telegram_b)):
            manifest = write_manifest(
                tmp_path / f"{pod}.yaml",
                chatbot_doc("pollbot"),
                binding_doc(
                    "pollbot-telegram", bot="pollbot", platform="telegram", secret="tg",
                    mode="polling", pollTimeoutSeconds=0, apiBase=api_base,
                ),
            )  # fmt: skip
            env = {
                "PARLEY_REDIS_URL": redis.url,
                "PARLEY_KUBE_API_URL": kube_url,
                "PARLEY_LEASE_DURATION": "3",
                "PARLEY_POD_NAME": pod,
                "PARLEY_NAMESPACE": "bots",
            }
            found[pod] = (Parley("gateway", manifest, secrets, tmp_path, env=env), fakes[pod])
        processes = [p for p, _ in found.values()]
        try:
            start_all(processes)
            yield leases, found
        finally:
            stop_all(processes)


def test_only_the_lease_holder_polls_and_the_other_takes_over_when_it_dies(
    gateways: tuple[LeaseApi, dict[str, tuple[Parley, FakeTelegram]]],
) -> None:
    leases, found = gateways
    leader = eventually(lambda: leases.holder(LEASE, "bots"))
    follower = next(pod for pod in found if pod != leader)
    leader_api, follower_api = found[leader][1], found[follower][1]
    eventually(lambda: leader_api.polls())
    time.sleep(1.5)  # several renewals of the 3 s lease: the follower must stay quiet meanwhile
    assert leases.holder(LEASE, "bots") == leader
    assert follower_api.polls() == []
    assert leader_api.api.received(leader_api.path("deleteWebhook"))  # polling starts by dropping a webhook

    found[leader][0].kill()  # no release of the lease: the follower waits for it to expire
    eventually(lambda: leases.holder(LEASE, "bots") == follower, within=20)
    eventually(lambda: follower_api.polls(), within=20)
    assert found[follower][0].process is not None and found[follower][0].process.poll() is None
