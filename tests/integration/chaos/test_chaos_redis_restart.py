"""Redis killed (SIGKILL) and restarted from its append-only file while webhooks keep arriving at a
`parley gateway` answered by a `parley engine` (real processes): every message the gateway
acknowledged is answered exactly once.

The sender behaves like a platform: a webhook answered with anything but 202 (503 while Redis is
down, or no answer) is not acknowledged and is sent again, with the same message id, until it is.
Redis runs with its append-only file, fsynced before every reply (`appendfsync always`) or every
second (`everysec`, Redis' default: Redis still writes the file before it replies, so a killed Redis
process loses nothing; a machine that loses power can lose the last second). With persistence off a
restart empties the queue, and nothing can keep that promise.

From the 10th acknowledged webhook until Redis is back, the callback receiver throttles replies
(429, Retry-After 2 s), so about ten replies wait in retry, unacknowledged, when Redis dies. Redis is
killed after the 20th acknowledgement, once every reply the receiver accepted was counted as sent by
the engine (so its ledger mark is written): the kill never lands between a platform accepting a
reply and its mark, the known window measured in test_chaos_engine_death.py. Everything else runs
through the outage: webhooks, the engine's reads, sessions, re-claims.
"""

import threading
import time
from pathlib import Path

import httpx
import pytest

from fakes.http_api import Reply, serve
from integration.chaos.counting_platform import CountingPlatform, tally
from integration.chaos.durable_redis import DurableRedis
from integration.chaos.helpers import Report, bot_doc, counter, http_binding, reached, settle
from integration.split.conftest import engine_env
from integration.split.harness import Parley, eventually, start_all, stop_all, write_manifest, write_secrets

MESSAGES = 40
THROTTLE_AFTER = 10  # acknowledged webhooks before replies are throttled: later ones wait in retry
KILL_AFTER = 20  # acknowledged webhooks before Redis dies
DOWN_SECONDS = 1.0  # how long Redis stays dead: long enough for webhooks to hit the outage
SEND_PAUSE = 0.02  # between two webhooks of the sender
RETRY_PAUSE = 0.1  # before the sender tries a refused webhook again
THROTTLED = Reply(429, {"error": "slow down"}, {"retry-after": "2"})


class Sender(threading.Thread):
    """Posts each message until the gateway acknowledges it (202), like a platform retrying."""

    def __init__(self, url: str, ids: list[str]) -> None:
        super().__init__(name="webhook-sender", daemon=True)
        self.url = url
        self.ids = ids
        self.acknowledged: list[str] = []
        self.refusals: dict[str, int] = {}  # status (or exception name) -> count
        self.deadline = time.monotonic() + 90

    def run(self) -> None:
        with httpx.Client(timeout=15) as client:
            for message_id in self.ids:
                body = {"message": f"q {message_id}", "user_id": f"u-{message_id}", "message_id": message_id}
                while time.monotonic() < self.deadline:
                    try:
                        status = client.post(f"{self.url}/webhook/http/chaos-http", json=body).status_code
                        outcome = str(status)
                    except httpx.TransportError as exc:
                        status, outcome = 0, type(exc).__name__
                    if status == 202:
                        self.acknowledged.append(message_id)
                        break
                    self.refusals[outcome] = self.refusals.get(outcome, 0) + 1
                    time.sleep(RETRY_PAUSE)
                time.sleep(SEND_PAUSE)


@pytest.mark.parametrize("fsync", ["always", "everysec"])
def test_redis_killed_and_restarted_mid_traffic_answers_every_acknowledged_message_once(
    tmp_path: Path, report: Report, fsync: str
) -> None:
    ids = [f"redis-{n:02d}" for n in range(MESSAGES)]
    throttling = threading.Event()
    platform = CountingPlatform()
    platform.policy = lambda _seen: THROTTLED if throttling.is_set() else None
    redis = DurableRedis(tmp_path / "redis", fsync=fsync)
    redis.start()
    with serve(platform.app) as callback:
        manifest = write_manifest(tmp_path / "bot.yaml", bot_doc(), http_binding(callback))
        secrets = write_secrets(tmp_path / "secrets", {})
        gateway = Parley("gateway", manifest, secrets, tmp_path, env={"PARLEY_REDIS_URL": redis.url})
        engine = Parley("engine", manifest, secrets, tmp_path, env=engine_env(redis, "engine-1"))
        roles = [gateway, engine]
        sender = Sender(gateway.url, ids)
        try:
            start_all(roles)
            sender.start()
            eventually(lambda: len(sender.acknowledged) >= THROTTLE_AFTER, within=30)
            throttling.set()
            eventually(lambda: len(sender.acknowledged) >= KILL_AFTER, within=30)
            eventually(
                lambda: (
                    counter(engine.url, "parley_outbound_total", outcome="sent")
                    >= sum(platform.snapshot().values())
                )
            )
            answered_before = len(platform.snapshot())
            redis.kill()
            acknowledged_at_kill = len(sender.acknowledged)
            time.sleep(DOWN_SECONDS)
            redis.restart()
            for role in roles:
                eventually(lambda role=role: role.ready().status_code == 200, within=30)
            throttling.clear()
            sender.join(timeout=90)
            assert not sender.is_alive()
            if reached(lambda: set(platform.snapshot()) >= set(sender.acknowledged), within=40):
                settle()
        finally:
            sender.deadline = 0.0  # a failed test leaves no sender behind
            stop_all(roles)
            redis.stop()

    accepted = platform.snapshot()
    figures = tally(sender.acknowledged, accepted)
    report(
        sent=MESSAGES,
        acknowledged=len(sender.acknowledged),
        acknowledged_before_kill=acknowledged_at_kill,
        answered_before_kill=answered_before,
        pending_at_kill=acknowledged_at_kill - answered_before,
        refused_while_down=sum(sender.refusals.values()),
        refusals=dict(sorted(sender.refusals.items())),
        throttled_replies=sum(platform.refused.values()),
        **figures,
    )
    assert sorted(sender.acknowledged) == ids  # the sender got every message acknowledged in the end
    assert figures == {"answered": MESSAGES, "duplicated": 0, "lost": 0, "unexpected": 0}
