"""Access-token caching with refresh ahead of expiry and a single in-flight fetch, and the shared rule for
a token the platform refuses early: forget it, fetch a new one, try once more."""

import asyncio
from collections.abc import Awaitable, Callable

from parley_runtime.platforms.errors import PermanentSendError


class TokenCache:
    """Holds one platform access token; `fetch` returns (token, lifetime seconds)."""

    def __init__(
        self,
        fetch: Callable[[], Awaitable[tuple[str, float]]],
        clock: Callable[[], float],
        *,
        refresh_margin: float = 300.0,
    ) -> None:
        self._fetch = fetch
        self._clock = clock
        self._margin = refresh_margin
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"TokenCache(valid={self._token is not None})"

    async def get(self) -> str:
        if self._token is not None and self._clock() < self._expires_at - self._margin:
            return self._token
        async with self._lock:
            if self._token is not None and self._clock() < self._expires_at - self._margin:
                return self._token
            token, lifetime = await self._fetch()
            self._token, self._expires_at = token, self._clock() + lifetime
            return token

    def invalidate(self) -> None:
        """Forget the token (the platform said it is invalid before its expiry)."""
        self._token = None


class TokenRejected(Exception):
    """The platform refused the access token; raised by a send so `send_with_token` fetches a new one."""


async def send_with_token(
    tokens: TokenCache,
    send: Callable[[str], Awaitable[None]],
    *,
    platform: str,
    what: str = "access token",
) -> None:
    """Run `send` with the cached token; when it raises TokenRejected, again once with a fresh token.

    Tokens go stale early (another replica fetched a new one, the platform revoked it), so one retry is
    worth it; a second refusal means the credentials are wrong and retrying the message cannot help.
    """
    for attempt in range(2):
        try:
            await send(await tokens.get())
            return
        except TokenRejected:
            tokens.invalidate()
            if attempt:
                raise PermanentSendError(platform, f"{what} rejected twice") from None
