"""How history and keys are written down, shared by every backend (pure)."""

import logging
from collections.abc import Sequence
from urllib.parse import quote

import pydantic

from parley_runtime.core.chat import ChatMessage
from parley_runtime.core.protocols import SessionKey

__all__ = ["decode_history", "encode_history", "redis_key", "session_redis_key"]

_log = logging.getLogger(__name__)
_HISTORY = pydantic.TypeAdapter(list[ChatMessage])


def encode_history(messages: Sequence[ChatMessage]) -> str:
    """Compact JSON; defaults are left out so old rows stay readable when fields are added."""
    return _HISTORY.dump_json(list(messages), exclude_defaults=True).decode()


def decode_history(raw: str | bytes | None) -> list[ChatMessage]:
    """Stored history, or an empty one when it is missing or unreadable.

    A corrupt row must not wedge a conversation forever: it reads as empty and the next append
    overwrites it. The log line names the problem, never the content.
    """
    if raw is None:
        return []
    try:
        return _HISTORY.validate_json(raw)
    except pydantic.ValidationError as error:
        _log.warning("unreadable session history dropped (%d errors)", error.error_count())
        return []


def redis_key(prefix: str, kind: str, *parts: str) -> str:
    """`prefix` + `kind` + percent-encoded parts: a ':' inside an id can never make two keys collide."""
    return prefix + ":".join([kind, *(quote(part, safe="") for part in parts)])


def session_redis_key(prefix: str, key: SessionKey) -> str:
    return redis_key(prefix, "session", key.bot, key.platform, key.chat_id, key.user_id)
