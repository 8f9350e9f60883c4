"""`parley serve`'s write-behind store: the SessionStore contract, plus persistence through SQLite."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from integration.sessions.session_backends import FakeClock
from integration.sessions.test_sessions_contract import (  # the shared contract, re-run on this store
    ROOMY,
    make_key,
    test_an_unknown_session_is_empty,
    test_clear_empties_one_session_only,
    test_history_accumulates_in_order_and_round_trips,
    test_history_never_leaks_to_a_key_differing_in_one_part,
    test_max_tokens_drops_whole_old_turns,
    test_max_turns_keeps_the_newest_turns,
    test_separators_inside_ids_cannot_merge_two_sessions,
    test_zero_turns_stores_nothing,
    turn,
)
from parley_runtime.sessions.sqlite import SqliteSessionStore
from parley_runtime.sessions.write_behind import WriteBehindSessionStore

__all__ = [
    "test_an_unknown_session_is_empty",
    "test_clear_empties_one_session_only",
    "test_history_accumulates_in_order_and_round_trips",
    "test_history_never_leaks_to_a_key_differing_in_one_part",
    "test_max_tokens_drops_whole_old_turns",
    "test_max_turns_keeps_the_newest_turns",
    "test_separators_inside_ids_cannot_merge_two_sessions",
    "test_zero_turns_stores_nothing",
]


async def open_store(path: Path, clock: FakeClock, **kwargs: object) -> WriteBehindSessionStore:
    return WriteBehindSessionStore(await SqliteSessionStore.open(path, clock=clock), clock=clock, **kwargs)  # type: ignore[arg-type]


@pytest.fixture
async def session_store(tmp_path: Path) -> AsyncIterator[WriteBehindSessionStore]:
    store = await open_store(tmp_path / "s.sqlite3", FakeClock())
    yield store
    await store.close()


async def test_history_survives_a_restart(tmp_path: Path) -> None:
    clock = FakeClock()
    store = await open_store(tmp_path / "s.sqlite3", clock)
    await store.append(make_key(), turn("q1", "a1"), **ROOMY)
    await store.close()  # flushes
    again = await open_store(tmp_path / "s.sqlite3", clock)
    assert [m.content for m in await again.load(make_key())] == ["q1", "a1"]
    await again.clear(make_key())
    await again.close()
    third = await open_store(tmp_path / "s.sqlite3", clock)
    assert await third.load(make_key()) == []
    await third.close()


async def test_flush_writes_dirty_sessions_to_sqlite(tmp_path: Path) -> None:
    clock = FakeClock()
    store = await open_store(tmp_path / "s.sqlite3", clock, flush_interval=3600)
    await store.append(make_key(), turn("q", "a"), **ROOMY)
    reader = await SqliteSessionStore.open(tmp_path / "s.sqlite3", clock=clock)
    assert await reader.load(make_key()) == []  # not yet written
    await store.flush()
    assert [m.content for m in await reader.load(make_key())] == ["q", "a"]
    await reader.close()
    await store.close()


async def test_evicted_sessions_reload_from_sqlite(tmp_path: Path) -> None:
    clock = FakeClock()
    store = await open_store(tmp_path / "s.sqlite3", clock, max_cached=2, flush_interval=3600)
    keys = [make_key(user_id=f"u{i}") for i in range(5)]
    for i, key in enumerate(keys):
        await store.append(key, turn(f"q{i}", f"a{i}"), **ROOMY)
    for i, key in enumerate(keys):  # evicted but not yet written: served from the pending write
        assert [m.content for m in await store.load(key)] == [f"q{i}", f"a{i}"]
    await store.flush()
    for i, key in enumerate(keys):  # evicted and written: reloaded from SQLite
        await store.append(key, turn("more", "yes"), **ROOMY)
        assert [m.content for m in await store.load(key)] == [f"q{i}", f"a{i}", "more", "yes"]
    await store.close()


async def test_expired_sessions_are_not_served_from_memory(tmp_path: Path) -> None:
    clock = FakeClock()
    store = await open_store(tmp_path / "s.sqlite3", clock)
    await store.append(make_key(), turn("q", "a"), max_turns=10, max_tokens=10_000, ttl_seconds=60)
    clock.now += 61
    assert await store.load(make_key()) == []
    await store.close()
