"""What only the SQLite store promises: WAL, durability across restarts, lazy purge, readable errors."""

import sqlite3
from pathlib import Path

import pytest

from integration.sessions.session_backends import FakeClock
from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions.errors import SessionError
from parley_runtime.sessions.sqlite import SqliteSessionStore

KEY = SessionKey(bot="helpdesk", platform="http", chat_id="c", user_id="u")
TURN = [ChatMessage(role="user", content="q"), ChatMessage(role="assistant", content="a")]
LIMITS = {"max_turns": 10, "max_tokens": 10_000}


def rows(path: Path) -> list[tuple[str, str]]:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT user_id, messages FROM parley_sessions ORDER BY user_id").fetchall()


async def test_database_is_in_wal_mode_and_created_with_its_directory(tmp_path: Path) -> None:
    path = tmp_path / "data" / "parley.sqlite3"
    store = await SqliteSessionStore.open(path)
    await store.close()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)


async def test_history_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "parley.sqlite3"
    store = await SqliteSessionStore.open(path)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=3600)
    await store.close()
    reopened = await SqliteSessionStore.open(path)
    assert await reopened.load(KEY) == TURN
    await reopened.close()


async def test_expired_rows_are_purged_by_the_next_append(tmp_path: Path) -> None:
    path, clock = tmp_path / "parley.sqlite3", FakeClock()
    store = await SqliteSessionStore.open(path, clock=clock)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    clock.now += 61
    assert [user for user, _ in rows(path)] == ["u"]  # expired but still on disk
    assert await store.load(KEY) == []  # ... and never returned
    await store.append(KEY._replace(user_id="v"), TURN, **LIMITS, ttl_seconds=60)
    assert [user for user, _ in rows(path)] == ["v"]
    await store.close()


async def test_rows_hold_json_of_the_messages(tmp_path: Path) -> None:
    path = tmp_path / "parley.sqlite3"
    store = await SqliteSessionStore.open(path)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    await store.close()
    assert rows(path) == [("u", '[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]')]


async def test_a_zero_ttl_keeps_nothing(tmp_path: Path) -> None:
    store = await SqliteSessionStore.open(tmp_path / "parley.sqlite3")
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=60)
    await store.append(KEY, TURN, **LIMITS, ttl_seconds=0)
    assert await store.load(KEY) == []
    await store.close()


async def test_an_unopenable_path_is_one_readable_error(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(SessionError, match=r"cannot open session database .*not-a-dir"):
        await SqliteSessionStore.open(blocker / "parley.sqlite3")


async def test_a_closed_store_refuses_work_and_closing_twice_is_fine(tmp_path: Path) -> None:
    store = await SqliteSessionStore.open(tmp_path / "parley.sqlite3")
    await store.close()
    await store.close()
    with pytest.raises(SessionError, match="closed"):
        await store.load(KEY)
