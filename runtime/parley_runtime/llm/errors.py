"""Errors of the LLM layer; the router decides retry, fallback and circuit accounting from their class.

LLMError                 -- base of everything this package raises
├── ProviderError        -- one call to one route failed; carries the route name, never a key
│   ├── RetryableError   -- connection errors, 429, 5xx, an error event mid-stream
│   │   └── ProviderTimeout  -- the route's `timeout` passed without an answer
│   └── FatalError       -- a retry cannot help: 4xx other than 429, a response we cannot read
└── NoRouteError         -- no route could serve the request (none capable, all open, all failed)

Messages are built from status codes, hosts and provider error types only: request headers (where
the API keys live) are never formatted into them.
"""

from collections.abc import Sequence

__all__ = ["FatalError", "LLMError", "NoRouteError", "ProviderError", "ProviderTimeout", "RetryableError"]

# Statuses that describe this request rather than the route's health: they fall back to the next
# route but do not count towards opening the circuit.
REQUEST_SPECIFIC_STATUSES = frozenset({400, 413, 422})


class LLMError(Exception):
    """Base class of the LLM layer."""


class ProviderError(LLMError):
    retryable = False

    def __init__(
        self,
        route: str,
        message: str,
        *,
        status: int | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"route {route}: {message}")
        self.route = route
        self.status = status
        self.retry_after = retry_after

    @property
    def counts_against_route(self) -> bool:
        """Whether this failure says the route is unhealthy (feeds the circuit breaker)."""
        return self.status not in REQUEST_SPECIFIC_STATUSES


class RetryableError(ProviderError):
    retryable = True


class ProviderTimeout(RetryableError):
    pass


class FatalError(ProviderError):
    retryable = False


class NoRouteError(LLMError):
    """Raised once every candidate failed; `failures` holds what each attempt raised, in order."""

    def __init__(self, message: str, failures: Sequence[ProviderError] = ()) -> None:
        self.failures = tuple(failures)
        detail = "; ".join(str(f) for f in self.failures[-3:])
        super().__init__(f"{message}: {detail}" if detail else message)
