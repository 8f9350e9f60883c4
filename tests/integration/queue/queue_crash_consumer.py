"""A real engine-like consumer process for the crash test (run as a script, not collected).

usage: queue_crash_consumer.py REDIS_URL BOT CONSUMER MODE
  MODE=hang: print `got <event_id> <delivery_count>` for the first delivery, then hang unacked
             (the test kills it with SIGKILL).
  MODE=work: for each delivery, RPUSH `<event_id>` to `completions` then ack; print
             `done <event_id> <delivery_count>`; exit once the track's lag is 0.
"""

import asyncio
import sys

import redis.asyncio as aioredis

from parley_runtime.queue.redis_streams import RedisStreamsQueue


async def main(url: str, bot: str, consumer: str, mode: str) -> None:
    client = aioredis.Redis.from_url(url)
    queue = RedisStreamsQueue(client, bot=bot, visibility_timeout=0.5, block=0.1)
    async for delivery in queue.consume("stable", consumer):
        if mode == "hang":
            print("got", delivery.message.event_id, delivery.delivery_count, flush=True)
            await asyncio.Event().wait()
        await client.rpush("completions", delivery.message.event_id)
        await delivery.ack()
        print("done", delivery.message.event_id, delivery.delivery_count, flush=True)
        if await queue.lag("stable") == 0:
            break
    await client.aclose()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:5]))
