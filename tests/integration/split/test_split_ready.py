"""`/ready` in the cluster roles follows Redis: 503 with the reason while it does not answer, 200 once
it does again — without restarting the pod."""

from pathlib import Path

import httpx

from factories import binding_doc, chatbot_doc
from integration.split.harness import (
    Parley,
    RestartableRedis,
    eventually,
    start_all,
    stop_all,
    write_manifest,
    write_secrets,
)


def test_ready_follows_redis(tmp_path: Path) -> None:
    redis = RestartableRedis(tmp_path / "redis")
    redis.start()
    manifest = write_manifest(
        tmp_path / "bot.yaml", chatbot_doc("ready"), binding_doc("ready-http", bot="ready", platform="http")
    )
    env = {"PARLEY_REDIS_URL": redis.url}
    roles = [
        Parley("gateway", manifest, write_secrets(tmp_path / "s", {}), tmp_path, env=env),
        Parley("engine", manifest, write_secrets(tmp_path / "s", {}), tmp_path, env=env),
    ]
    try:
        start_all(roles)
        for role in roles:
            ok = role.ready()
            assert ok.status_code == 200 and ok.json()["status"] == "ready"

        redis.stop()
        for role in roles:
            down = eventually(lambda role=role: (r := role.ready()).status_code == 503 and r)
            assert down.json()["status"] == "not ready" and down.json()["reason"].startswith("redis: ")
        # an engine's chat API cannot reach its sessions and limits: a retryable 503, in one line
        lost = httpx.post(f"{roles[1].url}/api/v1/chat", json={"message": "hi"}, timeout=20)
        assert (lost.status_code, lost.json()) == (503, {"error": "temporarily unavailable"})
        # a stream's status goes out with its first event: lost before it, the same 503 rather than a 200
        streamed = httpx.post(f"{roles[1].url}/api/v1/chat?stream=true", json={"message": "hi"}, timeout=20)
        assert (streamed.status_code, streamed.json()) == (503, {"error": "temporarily unavailable"})

        redis.restart()
        for role in roles:
            eventually(lambda role=role: role.ready().status_code == 200)
        assert all(role.process is not None and role.process.poll() is None for role in roles)
    finally:
        stop_all(roles)
        redis.stop()
