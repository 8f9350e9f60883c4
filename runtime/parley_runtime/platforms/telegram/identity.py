"""Who "the bot" is: `getMe` once, cached; until it answers, the token's numeric prefix and the
configured `botUsername`, with the lookup retried on later messages after a growing pause."""

import asyncio
import logging
from collections.abc import Callable

from parley_runtime.platforms.errors import SendError
from parley_runtime.platforms.telegram import convert
from parley_runtime.platforms.telegram.client import TelegramApi

__all__ = ["BotIdentityCache"]

log = logging.getLogger(__name__)

FIRST_RETRY_SECONDS = 30.0
MAX_RETRY_SECONDS = 900.0


class BotIdentityCache:
    """`get()` never raises: message intake goes on with the fallback identity while Telegram is away."""

    def __init__(self, api: TelegramApi, fallback: convert.BotIdentity, clock: Callable[[], float]) -> None:
        self._api = api
        self._clock = clock
        self.current = fallback
        self._learned = False
        self._retry_at = float("-inf")  # the first need asks at once
        self._delay = FIRST_RETRY_SECONDS
        self._lock = asyncio.Lock()

    def _settled(self) -> bool:
        return self._learned or self._clock() < self._retry_at

    async def get(self) -> convert.BotIdentity:
        """The learned identity, or the fallback while a failed lookup waits for its next try."""
        if self._settled():
            return self.current
        async with self._lock:  # concurrent first messages share one getMe
            if not self._settled():
                await self._learn()
        return self.current

    async def _learn(self) -> None:
        try:
            learned = convert.identity_from_get_me(await self._api.get_me(), self.current)
            cause = "unusable getMe answer"
        except SendError as exc:  # token-free by construction
            learned, cause = None, str(exc)
        except Exception as exc:  # anything else must not stop intake either
            learned, cause = None, type(exc).__name__
        if learned is not None:
            self.current, self._learned = learned, True
            return
        self._retry_at = self._clock() + self._delay
        log.warning(
            "telegram getMe failed; using the token's bot id and the configured username",
            extra={"error": cause, "retry_in_seconds": self._delay},
        )
        self._delay = min(self._delay * 2, MAX_RETRY_SECONDS)
