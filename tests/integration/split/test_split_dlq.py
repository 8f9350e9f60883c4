"""A reply the platform refuses (HTTP 400) is dead-lettered by the engine; `parley dlq list` shows it;
`parley dlq replay` hands it back and the running engine sends it from the outbox."""

import subprocess

import httpx

from fakes.http_api import Reply
from integration.split.conftest import Cluster
from integration.split.harness import eventually, run_cli


def dlq(cluster: Cluster, *args: str) -> subprocess.CompletedProcess[str]:
    return run_cli("dlq", *args, "-f", str(cluster.manifest), env={"PARLEY_REDIS_URL": cluster.redis.url})


def dead_lines(cluster: Cluster) -> list[str]:
    result = dlq(cluster, "list")
    assert result.returncode == 0, result.stderr
    return [line for line in result.stdout.splitlines() if "demo-fail" in line]


def test_refused_reply_is_dead_lettered_listed_and_replayed(cluster: Cluster) -> None:
    r = httpx.post(
        f"{cluster.gateway.url}/webhook/http/demo-fail",
        json={"message": "please answer", "user_id": "dlq-user", "message_id": "dlq-1"},
        timeout=5,
    )
    assert r.status_code == 202
    refused = eventually(lambda: cluster.callback.received("/fail"))
    assert refused[0].json()["reply"] == "stable engine says hi"

    lines = eventually(lambda: dead_lines(cluster), within=30, interval=0.5)
    assert len(lines) == 1
    entry_id, _when, platform, binding, user, attempts, error, preview = lines[0].split("\t")
    assert (platform, binding, user, attempts) == ("http", "demo-fail", "dlq-user", "1")
    assert "HTTP 400" in error and preview == "stable engine says hi"

    cluster.callback.default("POST", "/fail", Reply(200, {"ok": True}))  # the platform is fixed
    try:
        replayed = dlq(cluster, "replay", entry_id)
        assert replayed.returncode == 0, replayed.stderr
        assert replayed.stdout.strip() == "replayed 1 dead letter to the outbox of demo"
        delivered = eventually(lambda: cluster.callback.received("/fail")[1:], within=20)
    finally:
        cluster.callback.default("POST", "/fail", Reply(400, {"error": "no such chat"}))
    assert len(delivered) == 1
    assert delivered[0].json()["reply"] == "stable engine says hi"
    assert delivered[0].json()["message_id"] == "dlq-1"
    assert dead_lines(cluster) == []
