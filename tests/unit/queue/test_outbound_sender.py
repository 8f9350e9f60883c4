"""OutboundSender decisions: which errors are retried, how long it waits, what is dead-lettered."""

import builtins
import random
from collections.abc import Sequence

import pytest

from parley_runtime.core.messages import InboundMessage, OutboundMessage
from parley_runtime.observability.metrics import Metrics
from parley_runtime.platforms.errors import PermanentSendError, RetryableSendError
from parley_runtime.queue.outbound import DeadLetter, OutboundSender


class ListDeadLetters:
    """A real, minimal DeadLetterStore kept in a list."""

    def __init__(self) -> None:
        self.entries: list[DeadLetter] = []

    async def add(self, message: OutboundMessage, error: str) -> str:
        entry = DeadLetter(id=str(len(self.entries) + 1), message=message, error=error, failed_at=0.0)
        self.entries.append(entry)
        return entry.id

    async def list(self, limit: int = 100) -> builtins.list[DeadLetter]:
        return self.entries[:limit]

    async def take(self, ids: Sequence[str] | None = None) -> builtins.list[DeadLetter]:
        taken = [e for e in self.entries if ids is None or e.id in ids]
        self.entries = [e for e in self.entries if e not in taken]
        return taken


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def reply(text: str = "hi") -> OutboundMessage:
    inbound = InboundMessage(
        bot="b", platform="slack", binding="b-slack", event_id="e1", chat_id="C1", user_id="U1", text="q"
    )
    return OutboundMessage(inbound=inbound, text=text)


def failing(*errors: Exception):  # type: ignore[no-untyped-def]
    """A send that raises the given errors in turn, then succeeds; records each call."""
    calls: list[OutboundMessage] = []
    pending = list(errors)

    async def send(message: OutboundMessage) -> None:
        calls.append(message)
        if pending:
            raise pending.pop(0)

    return send, calls


async def test_retryable_errors_back_off_with_full_jitter_then_succeed() -> None:
    send, calls = failing(*[RetryableSendError("slack", "HTTP 503")] * 4)
    sleeps, store = Sleeps(), ListDeadLetters()
    sender = OutboundSender(send, store, base_delay=1.0, max_delay=5.0, sleep=sleeps, rng=random.Random(7))
    assert await sender.deliver(reply()) is True
    assert len(calls) == 5
    assert store.entries == []
    caps = [1.0, 2.0, 4.0, 5.0]  # base * 2^n, bounded by max_delay
    assert len(sleeps.calls) == 4
    assert all(0.0 <= s <= cap for s, cap in zip(sleeps.calls, caps, strict=True))
    assert len(set(sleeps.calls)) == 4  # jittered, not a fixed ladder


def test_backoff_spreads_over_the_whole_window() -> None:
    sender = OutboundSender(
        failing()[0], ListDeadLetters(), base_delay=0.5, max_delay=30.0, rng=random.Random(1)
    )
    waits = [sender.backoff(3, None) for _ in range(2000)]
    assert min(waits) < 0.2 and max(waits) > 1.8  # full jitter over [0, 2.0]
    assert all(0.0 <= w <= 2.0 for w in waits)


async def test_retry_after_is_honoured_and_bounded() -> None:
    send, _ = failing(
        RetryableSendError("slack", "HTTP 429", retry_after=7.0),
        RetryableSendError("slack", "HTTP 429", retry_after=600.0),
    )
    sleeps = Sleeps()
    sender = OutboundSender(send, ListDeadLetters(), max_delay=30.0, sleep=sleeps)
    assert await sender.deliver(reply()) is True
    assert sleeps.calls == [7.0, 30.0]


async def test_permanent_error_is_dead_lettered_at_once() -> None:
    send, calls = failing(PermanentSendError("slack", "HTTP 404 from slack.com (chat.postMessage)"))
    sleeps, store = Sleeps(), ListDeadLetters()
    metrics = Metrics()
    sender = OutboundSender(send, store, sleep=sleeps, metrics=metrics)
    assert await sender.deliver(reply("lost?")) is False
    assert len(calls) == 1 and sleeps.calls == []
    [entry] = store.entries
    assert entry.message.text == "lost?"
    assert entry.attempts == 1
    assert entry.error == "PermanentSendError: slack: HTTP 404 from slack.com (chat.postMessage)"
    assert metrics.sends.labels("slack", "dead_letter")._value.get() == 1


async def test_exhausted_attempts_are_dead_lettered() -> None:
    send, calls = failing(*[RetryableSendError("slack", "timeout")] * 10)
    store = ListDeadLetters()
    sender = OutboundSender(send, store, max_attempts=3, sleep=Sleeps())
    assert await sender.deliver(reply()) is False
    assert len(calls) == 3
    assert store.entries[0].attempts == 3
    assert store.entries[0].error == "gave up after 3 attempts: RetryableSendError: slack: timeout"


async def test_unexpected_exception_is_dead_lettered_without_its_text() -> None:
    send, _ = failing(ValueError("token xoxb-SECRET-123 rejected"))
    store = ListDeadLetters()
    assert await OutboundSender(send, store, sleep=Sleeps()).deliver(reply()) is False
    assert store.entries[0].error == "unexpected ValueError"
    assert "SECRET" not in repr(store.entries[0])


async def test_attempts_accumulate_across_replays() -> None:
    send, _ = failing(PermanentSendError("slack", "HTTP 400"))
    store = ListDeadLetters()
    await OutboundSender(send, store, sleep=Sleeps()).deliver(reply().model_copy(update={"attempt": 5}))
    assert store.entries[0].attempts == 6


def test_max_attempts_must_be_positive() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        OutboundSender(failing()[0], ListDeadLetters(), max_attempts=0)
