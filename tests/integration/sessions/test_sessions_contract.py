"""The SessionStore contract, run against SQLite (`parley serve`) and a real Redis (the cluster)."""

import asyncio

import pytest

from integration.sessions.session_backends import SessionBackend
from parley_runtime.core import budget
from parley_runtime.core.chat import ChatMessage, Role, ToolCall
from parley_runtime.core.protocols import SessionKey, SessionStore

DAY = 86_400.0
ROOMY = {"max_turns": 100, "max_tokens": 1_000_000, "ttl_seconds": DAY}


def make_key(**overrides: str) -> SessionKey:
    fields = {"bot": "helpdesk", "platform": "slack", "chat_id": "C1", "user_id": "U1", **overrides}
    return SessionKey(**fields)


def msg(role: Role, content: str = "", **fields: object) -> ChatMessage:
    return ChatMessage(role=role, content=content, **fields)


def turn(question: str, answer: str) -> list[ChatMessage]:
    return [msg("user", question), msg("assistant", answer)]


async def test_an_unknown_session_is_empty(session_store: SessionStore) -> None:
    assert await session_store.load(make_key()) == []


async def test_history_accumulates_in_order_and_round_trips(session_store: SessionStore) -> None:
    key = make_key()
    first = [
        msg("user", "天气怎么样？", images=("https://example.test/sky.png",)),
        msg("assistant", tool_calls=(ToolCall(id="c1", name="weather", arguments='{"city":"北京"}'),)),
        msg("tool", "晴", tool_call_id="c1", name="weather"),
        msg("assistant", "北京今天晴。"),
    ]
    second = turn("thanks", "you're welcome")
    await session_store.append(key, first, **ROOMY)
    await session_store.append(key, second, **ROOMY)
    assert await session_store.load(key) == first + second


@pytest.mark.parametrize("field", ["bot", "platform", "chat_id", "user_id"])
async def test_history_never_leaks_to_a_key_differing_in_one_part(
    session_store: SessionStore, field: str
) -> None:
    mine, other = make_key(), make_key(**{field: "someone-else"})
    await session_store.append(mine, turn("my secret question", "my answer"), **ROOMY)
    await session_store.append(other, turn("their question", "their answer"), **ROOMY)
    assert await session_store.load(mine) == turn("my secret question", "my answer")
    assert await session_store.load(other) == turn("their question", "their answer")


async def test_separators_inside_ids_cannot_merge_two_sessions(session_store: SessionStore) -> None:
    left = SessionKey(bot="a:b", platform="c", chat_id="1", user_id="2")
    right = SessionKey(bot="a", platform="b:c", chat_id="1", user_id="2")
    await session_store.append(left, turn("left", "l"), **ROOMY)
    assert await session_store.load(right) == []


async def test_clear_empties_one_session_only(session_store: SessionStore) -> None:
    mine, neighbour = make_key(), make_key(user_id="U2")
    await session_store.append(mine, turn("q", "a"), **ROOMY)
    await session_store.append(neighbour, turn("q2", "a2"), **ROOMY)
    await session_store.clear(mine)
    assert await session_store.load(mine) == []
    assert await session_store.load(neighbour) == turn("q2", "a2")
    await session_store.clear(mine)  # clearing an empty session is fine (a second /reset)
    await session_store.append(mine, turn("fresh", "start"), **ROOMY)
    assert await session_store.load(mine) == turn("fresh", "start")


async def test_max_turns_keeps_the_newest_turns(session_store: SessionStore) -> None:
    key = make_key()
    for n in range(1, 6):
        await session_store.append(
            key, turn(f"q{n}", f"a{n}"), max_turns=2, max_tokens=100_000, ttl_seconds=DAY
        )
    assert await session_store.load(key) == turn("q4", "a4") + turn("q5", "a5")


async def test_max_tokens_drops_whole_old_turns(session_store: SessionStore) -> None:
    key = make_key()
    big = "x" * 400
    turn_cost = sum(budget.estimate_message_tokens(m) for m in turn(big, big))
    for n in range(3):
        await session_store.append(
            key, turn(big, f"{big}{n}"), max_turns=100, max_tokens=2 * turn_cost + 10, ttl_seconds=DAY
        )
    kept = await session_store.load(key)
    assert [m.content for m in kept] == [big, f"{big}1", big, f"{big}2"]


async def test_zero_turns_stores_nothing(session_store: SessionStore) -> None:
    key = make_key()
    await session_store.append(key, turn("q", "a"), **ROOMY)
    await session_store.append(key, turn("q2", "a2"), max_turns=0, max_tokens=1000, ttl_seconds=DAY)
    assert await session_store.load(key) == []


async def test_sessions_expire_after_the_ttl_and_append_refreshes_it(session_backend: SessionBackend) -> None:
    store = await session_backend.open_store()
    key, untouched = make_key(), make_key(user_id="idle")
    ttl = {"max_turns": 10, "max_tokens": 10_000, "ttl_seconds": 1.5}
    await store.append(key, turn("q1", "a1"), **ttl)
    await store.append(untouched, turn("hello", "hi"), **ttl)
    await session_backend.advance(0.9)
    await store.append(key, turn("q2", "a2"), **ttl)  # refreshes the TTL of `key` only
    await session_backend.advance(0.9)
    assert await store.load(key) == turn("q1", "a1") + turn("q2", "a2")
    assert await store.load(untouched) == []
    await session_backend.advance(1.6)
    assert await store.load(key) == []
    await store.append(key, turn("q3", "a3"), **ttl)  # an expired session starts afresh
    assert await store.load(key) == turn("q3", "a3")


async def test_two_replicas_appending_at_once_lose_nothing(session_backend: SessionBackend) -> None:
    first, second = await session_backend.open_store(), await session_backend.open_store()
    key = make_key()

    async def chat(store: SessionStore, name: str) -> None:
        for n in range(10):
            await store.append(key, turn(f"{name}{n}", "ok"), **ROOMY)

    await asyncio.gather(chat(first, "a"), chat(second, "b"))
    questions = [m.content for m in await first.load(key) if m.role == "user"]
    assert sorted(questions) == sorted([f"a{n}" for n in range(10)] + [f"b{n}" for n in range(10)])
    assert [q for q in questions if q.startswith("a")] == [f"a{n}" for n in range(10)]
    assert await second.load(key) == await first.load(key)
