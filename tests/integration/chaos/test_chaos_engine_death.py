"""An engine dies in the middle of a reply; a new engine process finishes it: each part of every reply
reaches the platform exactly once (SPEC §15: "A reply is recorded as sent (per message and part)
before its queue entry is acknowledged").

Each case queues three messages whose echo replies are three Telegram parts each (4096-character
limit), runs `engine_fault.py` with one fault until it dies, then runs it again without a fault. The
cluster case uses the Redis Streams queue and Redis ledger (the second engine re-claims the dead one's
entry after a 0.5 s visibility timeout); the `parley serve` case uses the SQLite queue and ledger
(the second process opens the same file). The last test measures the window the ledger cannot close:
a death after the platform accepted a part and before its mark was written repeats that one part.
"""

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from fakes.http_api import serve
from integration.chaos.counting_platform import CountingPlatform, tally, telegram_key
from integration.chaos.engine_fault import EXIT_CODE
from integration.chaos.helpers import BOT, Report, bot_doc, telegram_binding
from integration.split.harness import write_manifest, write_secrets
from parley_runtime.core.messages import InboundMessage
from parley_runtime.engine.pipeline import session_key
from parley_runtime.gateway.intake import DEDUP_TTL_SECONDS
from parley_runtime.platforms.common import markdown
from parley_runtime.platforms.telegram.text import MESSAGE_LIMIT
from parley_runtime.queue.redis_streams import RedisStreamsQueue
from parley_runtime.queue.sqlite_queue import SqliteQueue
from parley_runtime.sessions.redis import RedisSessionStore

SCRIPT = Path(__file__).with_name("engine_fault.py")
SECRETS = {"tg/botToken": "424242:chaos-engine-token", "tg/secretToken": "chaos-secret"}
MESSAGES = 3
PARTS = 3
WORDS = "the quick brown fox jumps over the lazy dog " * 230  # about 10 000 characters


def message(n: int) -> InboundMessage:
    chat = 7000 + n
    return InboundMessage(
        bot=BOT, platform="telegram", binding="chaos-tg", event_id=f"update-{n}", chat_id=str(chat),
        user_id=str(n), text=f"message {n}: {WORDS}", reply_context={"chat_id": chat, "message_id": n},
    )  # fmt: skip


def parts(m: InboundMessage) -> list[str]:
    """The keys the platform should accept once each: the echo reply (a model answer, so Markdown),
    split as Telegram needs and rendered as its HTML."""
    chat = m.reply_context["chat_id"]
    chunks = markdown.split_markdown(f"echo: {m.text}", MESSAGE_LIMIT, measure="utf16")
    return [telegram_key(chat, markdown.to_telegram_html(part)) for part in chunks]


async def enqueue(messages: list[InboundMessage], backend: str, data: Path, redis_url: str | None) -> None:
    """What the gateway (or `parley serve`'s webhook) does before its 2xx: accept durably."""
    if redis_url is not None:
        client = aioredis.Redis.from_url(redis_url)
        queue = RedisStreamsQueue(client, bot=BOT)
        assert all([await queue.accept(m, DEDUP_TTL_SECONDS) for m in messages])
        await client.aclose()
        return
    local = await SqliteQueue.open(data / "parley.sqlite3", bot=BOT)
    assert all([await local.accept(m, DEDUP_TTL_SECONDS) for m in messages])
    await local.close()


async def user_turns(redis_url: str, m: InboundMessage) -> int:
    client = aioredis.Redis.from_url(redis_url)
    history = await RedisSessionStore(client).load(session_key(m))
    await client.aclose()
    return sum(1 for turn in history if turn.role == "user")


async def run_engine(
    tmp_path: Path, manifest: Path, redis_url: str | None, consumer: str, fault: str
) -> subprocess.CompletedProcess[str]:
    args = [sys.executable, str(SCRIPT), str(manifest), str(tmp_path / "secrets"), str(tmp_path / "data")]
    args += [redis_url or "-", consumer, fault]
    return await asyncio.to_thread(subprocess.run, args, capture_output=True, text=True, timeout=60)


async def crash_then_recover(
    tmp_path: Path, request: pytest.FixtureRequest, backend: str, fault: str
) -> tuple[list[str], dict[str, int], list[str]]:
    """Queue the messages, run a dying engine and a healthy one; the expected keys, what the
    platform accepted, and the healthy engine's `done` lines."""
    redis_url = request.getfixturevalue("redis_url") if backend == "redis" else None
    messages = [message(n) for n in range(MESSAGES)]
    expected = [key for m in messages for key in parts(m)]
    assert len(expected) == MESSAGES * PARTS
    platform = CountingPlatform()
    with serve(platform.app) as api:
        manifest = write_manifest(tmp_path / "bot.yaml", bot_doc(), telegram_binding(api))
        write_secrets(tmp_path / "secrets", SECRETS)
        await enqueue(messages, backend, tmp_path / "data", redis_url)

        doomed = await run_engine(tmp_path, manifest, redis_url, "engine-doomed", fault)
        assert doomed.returncode == EXIT_CODE, doomed.stderr
        assert doomed.stdout.splitlines() == [f"dying {fault}"], doomed.stdout
        at_death = platform.snapshot()

        survivor = await run_engine(tmp_path, manifest, redis_url, "engine-survivor", "none")
        assert survivor.returncode == 0, survivor.stderr
    done = survivor.stdout.splitlines()
    assert sorted(line.split()[1] for line in done) == sorted(m.event_id for m in messages)
    first = messages[0]  # the dying engine's only delivery (both queues hand out the oldest first)
    if fault == "before-ack":
        assert set(at_death) == set(parts(first)), "every part went out before the death"
    else:
        assert set(at_death) == set(parts(first)[:1]), "only the first part went out before the death"
    return expected, platform.snapshot(), done


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
@pytest.mark.parametrize("fault", ["before-ack", "between-parts"])
async def test_an_engine_killed_mid_reply_leaves_no_part_sent_twice_or_lost(
    tmp_path: Path, request: pytest.FixtureRequest, report: Report, backend: str, fault: str
) -> None:
    expected, accepted, done = await crash_then_recover(tmp_path, request, backend, fault)
    figures = tally(expected, accepted)
    report(acknowledged=MESSAGES, parts=len(expected), finished_by_second_engine=len(done), **figures)
    assert figures == {"answered": len(expected), "duplicated": 0, "lost": 0, "unexpected": 0}
    if backend == "redis":
        assert [line for line in done if not line.endswith(" 1")] == ["done update-0 2"]  # re-claimed
        # the re-claimed message was not answered anew: its session holds the one turn of the first engine
        assert await user_turns(request.getfixturevalue("redis_url"), message(0)) == 1


@pytest.mark.parametrize("backend", ["redis", "sqlite"])
async def test_a_death_after_the_platform_took_a_part_and_before_its_mark_repeats_only_that_part(
    tmp_path: Path, request: pytest.FixtureRequest, report: Report, backend: str
) -> None:
    """The documented window (docs/reliability.md): nothing else is repeated, nothing is lost."""
    expected, accepted, _done = await crash_then_recover(tmp_path, request, backend, "before-mark")
    figures = tally(expected, accepted)
    report(acknowledged=MESSAGES, parts=len(expected), **figures)
    assert figures == {"answered": len(expected), "duplicated": 1, "lost": 0, "unexpected": 0}
    assert [key for key, n in accepted.items() if n > 1] == parts(message(0))[:1]
