"""`kill -9` of `parley serve` with acknowledged webhooks not yet answered, then a restart on the same
`--data-dir`: every acknowledged message is answered exactly once, and a platform's retry of one of
them after the restart is acknowledged but not answered again (SPEC §15 "Durable in every mode").

The callback receiver throttles (429, Retry-After 2 s) the replies of 20 of the 30 messages until the
restart, so they are in retry, unanswered, when the process dies; the other 10 are answered before
it. The kill waits until the process counted those 10 as sent (`parley_outbound_total`), which it
does after marking their parts in the ledger: the kill never lands between a platform accepting a
reply and its mark (the known window, measured in test_chaos_engine_death.py).
"""

import threading
from pathlib import Path

import httpx

from fakes.http_api import Reply, serve
from integration.chaos.counting_platform import CountingPlatform, tally
from integration.chaos.helpers import Report, bot_doc, counter, http_binding, reached, settle
from integration.split.harness import Parley, eventually, run_cli, write_manifest, write_secrets

MESSAGES = 30
ANSWERED_BEFORE_KILL = 10
RETRIED_BY_PLATFORM = 5
THROTTLED = Reply(429, {"error": "slow down"}, {"retry-after": "2"})


def webhook(url: str, message_id: str) -> httpx.Response:
    body = {"message": f"question {message_id}", "user_id": f"user-{message_id}", "message_id": message_id}
    return httpx.post(f"{url}/webhook/http/chaos-http", json=body, timeout=10)


def test_kill_9_with_accepted_webhooks_then_restart_answers_each_exactly_once(
    tmp_path: Path, report: Report
) -> None:
    ids = [f"kill-{n:02d}" for n in range(MESSAGES)]
    early = set(ids[:ANSWERED_BEFORE_KILL])
    restarted = threading.Event()
    platform = CountingPlatform()
    platform.policy = lambda seen: None if restarted.is_set() or seen.message in early else THROTTLED
    with serve(platform.app) as callback:
        manifest = write_manifest(tmp_path / "bot.yaml", bot_doc(), http_binding(callback))
        secrets = write_secrets(tmp_path / "secrets", {})
        first = Parley("serve", manifest, secrets, tmp_path).start().wait_healthy()
        second = Parley("serve", manifest, secrets, tmp_path)  # same workdir: same --data-dir
        try:
            statuses = [webhook(first.url, message_id).status_code for message_id in ids]
            assert statuses == [202] * MESSAGES
            eventually(
                lambda: counter(first.url, "parley_outbound_total", outcome="sent") >= ANSWERED_BEFORE_KILL
            )
            first.kill()
            before = platform.snapshot()
            assert set(before) == early, "only the unthrottled replies went out before the kill"

            restarted.set()
            second.start().wait_healthy()
            reached(lambda: set(platform.snapshot()) >= set(ids), within=30)
            retried = ids[:2] + ids[-3:]  # answered before and after the kill
            assert [webhook(second.url, m).status_code for m in retried] == [202] * RETRIED_BY_PLATFORM
            assert counter(second.url, "parley_duplicates_total", platform="http") == RETRIED_BY_PLATFORM
            settle()
            handled_after_restart = counter(second.url, "parley_outbound_total", outcome="sent")
            dead = run_cli("dlq", "list", "-f", str(manifest), "--data-dir", str(tmp_path / "data"))
        finally:
            first.kill()
            second.stop()

    after = platform.snapshot()
    figures = tally(ids, after)
    report(
        acknowledged=MESSAGES,
        answered_before_kill=len(before),
        pending_at_kill=MESSAGES - len(before),
        delivered_again_after_restart=int(handled_after_restart),
        retried_by_platform_after_restart=RETRIED_BY_PLATFORM,
        dead_lettered=len(dead.stdout.splitlines()),
        **figures,
    )
    assert dead.returncode == 0 and dead.stdout == ""
    assert figures == {"answered": MESSAGES, "duplicated": 0, "lost": 0, "unexpected": 0}
    assert all(after[m] == 1 for m in ids)
