"""A passive circuit breaker per route: a pure state machine; the caller passes the time in.

    closed ──N consecutive failures──▶ open ──cooldown passed──▶ half-open (one probe at a time)
      ▲                                 ▲                              │
      └──────────── probe succeeds ─────┼──────────────────────────────┤
                                        └──────── probe fails ─────────┘

Any success closes the circuit and resets the failure count; a failure while half-open re-opens it
for a fresh cooldown.
"""

import enum

__all__ = ["Circuit", "State"]


class State(enum.Enum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


class Circuit:
    def __init__(self, failure_threshold: int, cooldown: float) -> None:
        self.failure_threshold = failure_threshold
        self.cooldown = cooldown
        self.failures = 0
        self._state = State.CLOSED
        self._opened_at = 0.0
        self._probing = False

    def __repr__(self) -> str:
        return f"Circuit(state={self._state.value}, failures={self.failures})"

    def state(self, now: float) -> State:
        if self._state is State.OPEN and now - self._opened_at >= self.cooldown:
            return State.HALF_OPEN
        return self._state

    def available(self, now: float) -> bool:
        """Whether a request could be let through now (does not claim the half-open probe)."""
        if self._state is State.CLOSED:
            return True
        state = self.state(now)
        return state is State.HALF_OPEN and not self._probing

    def allow(self, now: float) -> bool:
        """Let one request through if possible; in half-open this claims the single probe slot."""
        if self._state is State.CLOSED:
            return True
        if not self.available(now):
            return False
        self._state = State.HALF_OPEN
        self._probing = True
        return True

    def success(self) -> bool:
        """Record a good answer; True when this closed a circuit that was not closed."""
        changed = self._state is not State.CLOSED
        self._state = State.CLOSED
        self.failures = 0
        self._probing = False
        return changed

    def failure(self, now: float) -> bool:
        """Record a failed call; True when this opened (or re-opened) the circuit."""
        self.failures += 1
        self._probing = False
        if self._state is State.CLOSED and self.failures < self.failure_threshold:
            return False
        changed = self._state is not State.OPEN
        self._state = State.OPEN
        self._opened_at = now  # a failure while open (an active probe) restarts the cooldown
        return changed

    def release(self) -> None:
        """A probe ended without a verdict (cancelled, or a request-specific error): free the slot."""
        self._probing = False
