"""The circuit breaker state machine, driven by explicit timestamps."""

from parley_runtime.llm.circuit import Circuit, State


def opened(threshold: int = 3, cooldown: float = 30.0, at: float = 100.0) -> Circuit:
    c = Circuit(threshold, cooldown)
    for _ in range(threshold):
        c.failure(at)
    return c


def test_closed_until_threshold_consecutive_failures() -> None:
    c = Circuit(3, 30.0)
    assert c.failure(0) is False
    assert c.failure(0) is False
    assert c.state(0) is State.CLOSED and c.allow(0)
    assert c.failure(0) is True
    assert c.state(0) is State.OPEN
    assert not c.allow(0) and not c.available(29.9)


def test_success_resets_the_consecutive_count() -> None:
    c = Circuit(2, 30.0)
    c.failure(0)
    c.success()
    assert c.failure(1) is False
    assert c.state(1) is State.CLOSED


def test_half_open_after_cooldown_lets_exactly_one_probe_through() -> None:
    c = opened(at=100.0)
    assert c.state(129.9) is State.OPEN
    assert c.state(130.0) is State.HALF_OPEN
    assert c.available(130.0)
    assert c.allow(130.0) is True
    assert c.allow(130.0) is False  # the probe slot is taken
    assert not c.available(131.0)


def test_probe_success_closes() -> None:
    c = opened()
    c.allow(200.0)
    assert c.success() is True
    assert c.state(200.0) is State.CLOSED and c.failures == 0
    assert c.success() is False  # already closed: no transition reported


def test_probe_failure_reopens_for_a_fresh_cooldown() -> None:
    c = opened(at=100.0)
    c.allow(140.0)
    assert c.failure(140.0) is True
    assert c.state(169.0) is State.OPEN
    assert c.state(170.0) is State.HALF_OPEN


def test_released_probe_frees_the_slot() -> None:
    c = opened()
    assert c.allow(500.0)
    c.release()
    assert c.allow(500.0)


def test_failure_while_open_restarts_cooldown_without_reporting_a_transition() -> None:
    c = opened(at=100.0)
    assert c.failure(120.0) is False
    assert c.state(145.0) is State.OPEN
    assert c.state(150.0) is State.HALF_OPEN
