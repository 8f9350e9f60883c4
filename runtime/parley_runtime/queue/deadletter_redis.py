"""Dead letters in the cluster: the Redis stream `parley:<bot>:dlq`, oldest first."""

import builtins
import time
from collections.abc import Callable, Sequence
from typing import Any, cast

import redis.asyncio as aioredis

from parley_runtime.core.messages import OutboundMessage
from parley_runtime.queue.outbound import DeadLetter

__all__ = ["RedisDeadLetterStore", "dlq_key"]

MAXLEN = 100_000  # a bound, so a platform outage cannot fill Redis


def dlq_key(prefix: str, bot: str) -> str:
    return f"{prefix}:{bot}:dlq"


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _entry(entry_id: Any, fields: dict[Any, Any]) -> DeadLetter:
    get = {_text(k): _text(v) for k, v in fields.items()}
    return DeadLetter(
        id=_text(entry_id),
        message=OutboundMessage.model_validate_json(get["message"]),
        error=get.get("error", ""),
        failed_at=float(get.get("failed_at", "0")),
    )


class RedisDeadLetterStore:
    """`outbound.DeadLetterStore` over a Redis stream; entry ids are the stream ids."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        bot: str,
        prefix: str = "parley",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.key = dlq_key(prefix, bot)
        self._clock = clock

    async def add(self, message: OutboundMessage, error: str) -> str:
        fields = {"message": message.model_dump_json(), "error": error, "failed_at": repr(self._clock())}
        entry_id = await self.client.xadd(self.key, fields, maxlen=MAXLEN, approximate=True)  # type: ignore[arg-type]
        return _text(entry_id)

    async def list(self, limit: int = 100) -> list[DeadLetter]:
        entries = cast(list[Any], await self.client.xrange(self.key, count=limit))
        return [_entry(i, f) for i, f in entries if f]

    async def take(self, ids: Sequence[str] | None = None) -> builtins.list[DeadLetter]:
        if ids is None:
            found = cast(list[Any], await self.client.xrange(self.key))
        else:
            found = []
            for entry_id in dict.fromkeys(ids):
                found += cast(list[Any], await self.client.xrange(self.key, min=entry_id, max=entry_id))
        taken = []
        for entry_id, fields in found:
            # XDEL answers 1 only to the caller that removed it: concurrent replays take disjoint sets.
            if fields and await self.client.xdel(self.key, entry_id) == 1:
                taken.append(_entry(entry_id, fields))
        return taken

    async def close(self) -> None:
        """The client belongs to the caller."""
