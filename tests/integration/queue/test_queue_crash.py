"""A consumer process killed with SIGKILL mid-message: another process finishes it, exactly once."""

import asyncio
import signal
import subprocess
import sys
from pathlib import Path

import redis.asyncio as aioredis

from parley_runtime.core.messages import InboundMessage
from parley_runtime.queue.redis_streams import RedisStreamsQueue

SCRIPT = Path(__file__).with_name("queue_crash_consumer.py")


def start(redis_url: str, name: str, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(SCRIPT), redis_url, "helpdesk", name, mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


async def read_line(process: subprocess.Popen[str], within: float = 30.0) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(asyncio.to_thread(process.stdout.readline), within)
    assert line, f"consumer exited early: {process.stderr.read() if process.stderr else ''}"
    return line.strip()


async def test_killed_consumer_message_is_finished_once_by_another(redis_url: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    queue = RedisStreamsQueue(client, bot="helpdesk", visibility_timeout=0.5)
    message = InboundMessage(
        bot="helpdesk", platform="telegram", binding="helpdesk-tg", event_id="update-42",
        chat_id="c1", user_id="u1", text="what is my order status?",
    )  # fmt: skip
    await queue.put(message)

    doomed = start(redis_url, "engine-doomed", "hang")
    try:
        assert await read_line(doomed) == "got update-42 1"
    finally:
        doomed.send_signal(signal.SIGKILL)
        doomed.wait(10)
        for pipe in (doomed.stdout, doomed.stderr):
            if pipe is not None:
                pipe.close()
    assert doomed.returncode == -signal.SIGKILL
    assert await client.lrange("completions", 0, -1) == []
    assert await queue.lag("stable") == 1  # still pending under the dead consumer

    survivor = start(redis_url, "engine-survivor", "work")
    try:
        assert await read_line(survivor) == "done update-42 2"
        assert await asyncio.to_thread(survivor.wait, 30) == 0
    finally:
        if survivor.poll() is None:
            survivor.kill()
            survivor.wait(10)
        for pipe in (survivor.stdout, survivor.stderr):
            if pipe is not None:
                pipe.close()

    assert await client.lrange("completions", 0, -1) == [b"update-42"]
    assert await queue.lag("stable") == 0
    await client.aclose()
