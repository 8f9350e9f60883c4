"""sessions.codec: history survives a round trip; keys cannot collide; corrupt rows read as empty."""

import logging

import pytest

from parley_runtime.core.chat import ChatMessage, ToolCall
from parley_runtime.core.protocols import SessionKey
from parley_runtime.sessions import codec


def test_history_round_trips_every_field() -> None:
    history = [
        ChatMessage(role="user", content="看看这张图 ✨", images=("https://example.test/a.png",)),
        ChatMessage(role="assistant", tool_calls=(ToolCall(id="c1", name="zoom", arguments='{"x":2}'),)),
        ChatMessage(role="tool", content="zoomed", tool_call_id="c1", name="zoom"),
        ChatMessage(role="assistant", content="It is a cat."),
    ]
    assert codec.decode_history(codec.encode_history(history)) == history
    assert codec.decode_history(codec.encode_history(history).encode()) == history


def test_encoding_is_compact_and_readable() -> None:
    encoded = codec.encode_history([ChatMessage(role="user", content="你好")])
    assert encoded == '[{"role":"user","content":"你好"}]'


@pytest.mark.parametrize("raw", [None, b"", "not json", '{"role":"user"}', '[{"role":"robot"}]'])
def test_missing_or_unreadable_history_is_empty(
    raw: str | bytes | None, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        assert codec.decode_history(raw) == []


def test_unreadable_history_log_never_contains_the_content(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        codec.decode_history('[{"role":"robot","content":"my password is hunter2"}]')
    assert caplog.records, "a dropped history must be logged"
    assert "hunter2" not in caplog.text


def test_redis_keys_of_different_sessions_never_collide() -> None:
    first = codec.session_redis_key("parley:", SessionKey("a:b", "c", "1", "2"))
    second = codec.session_redis_key("parley:", SessionKey("a", "b:c", "1", "2"))
    assert first != second
    assert first.startswith("parley:session:")
    assert codec.session_redis_key("other:", SessionKey("a", "b", "c", "d")).startswith("other:session:")
