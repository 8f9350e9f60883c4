"""limits.memory: the sliding window of the in-process limiter, driven by a settable clock."""

import pytest

from parley_runtime.limits.memory import InProcessRateLimiter


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def allowed(limiter: InProcessRateLimiter, key: str, limit: int, times: int) -> int:
    return sum([await limiter.allow(key, limit) for _ in range(times)])


async def test_window_rolls_over_one_minute_after_the_first_messages() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    assert await allowed(limiter, "u", 20, 20) == 20
    clock.now += 59.9
    assert not await limiter.allow("u", 20)
    clock.now += 0.1  # exactly 60 s after the first 20
    assert await allowed(limiter, "u", 20, 21) == 20


async def test_window_slides_instead_of_resetting_at_a_boundary() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    assert await allowed(limiter, "u", 20, 10) == 10
    clock.now += 30
    assert await allowed(limiter, "u", 20, 15) == 10  # 20 within the last minute
    clock.now += 30  # the first 10 leave the window, the second 10 are still in it
    assert await allowed(limiter, "u", 20, 15) == 10
    clock.now += 29
    assert not await limiter.allow("u", 20)


async def test_refused_messages_do_not_extend_the_wait() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    await allowed(limiter, "u", 1, 1)
    for _ in range(10):
        clock.now += 5
        assert not await limiter.allow("u", 1)
    clock.now += 10  # 60 s after the accepted one
    assert await limiter.allow("u", 1)


async def test_idle_keys_are_forgotten() -> None:
    clock = FakeClock()
    limiter = InProcessRateLimiter(clock=clock)
    for user in range(50):
        await limiter.allow(f"user-{user}", 5)
    assert limiter.tracked_keys() == 50
    clock.now += 61
    await limiter.allow("someone-new", 5)
    assert limiter.tracked_keys() == 1


async def test_zero_is_unlimited_and_negative_is_refused() -> None:
    limiter = InProcessRateLimiter(clock=FakeClock())
    assert await allowed(limiter, "u", 0, 500) == 500
    assert limiter.tracked_keys() == 0
    with pytest.raises(ValueError, match="0 means unlimited"):
        await limiter.allow("u", -1)
