"""Access-token caching with refresh ahead of expiry and a single in-flight fetch."""

import asyncio
from collections.abc import Awaitable, Callable


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
