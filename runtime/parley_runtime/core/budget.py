"""How much history fits a session: a cheap token estimate and whole-turn trimming (pure).

The estimate must be fast, deterministic and provider-independent, so it is a heuristic rather than a
tokenizer: English BPE vocabularies average about four ASCII characters per token, while CJK and most
other non-ASCII characters cost about one token each. Over-estimating is the safe direction (a trimmed
history still fits the model's context), so every non-empty text costs at least one token and every
message pays a fixed overhead for its role and framing.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from parley_runtime.core.chat import ChatMessage

__all__ = [
    "ASCII_CHARS_PER_TOKEN",
    "IMAGE_TOKENS",
    "MESSAGE_OVERHEAD_TOKENS",
    "Trimmed",
    "estimate_message_tokens",
    "estimate_tokens",
    "trim_history",
]

ASCII_CHARS_PER_TOKEN = 4
MESSAGE_OVERHEAD_TOKENS = 4  # role marker and separators, as chat templates add per message
IMAGE_TOKENS = 85  # a flat price per attached image: its URL or data says nothing about its real cost


def estimate_tokens(text: str) -> int:
    """ASCII characters count a quarter token (rounded up), any other character one token."""
    # counted in C: encoding with errors="ignore" keeps exactly the characters that are ASCII
    ascii_chars = len(text) if text.isascii() else len(text.encode("ascii", "ignore"))
    other_chars = len(text) - ascii_chars
    return math.ceil(ascii_chars / ASCII_CHARS_PER_TOKEN) + other_chars


def estimate_message_tokens(message: ChatMessage) -> int:
    """Content plus tool-call text plus a flat cost per image plus the per-message overhead."""
    tokens = MESSAGE_OVERHEAD_TOKENS + estimate_tokens(message.content)
    tokens += IMAGE_TOKENS * len(message.images)
    for call in message.tool_calls:
        tokens += estimate_tokens(call.name) + estimate_tokens(call.arguments)
    return tokens


def trim_history(messages: Sequence[ChatMessage], *, max_turns: int, max_tokens: int) -> list[ChatMessage]:
    """The longest suffix of whole turns with at most `max_turns` turns and `max_tokens` estimated tokens.

    A turn starts at a user message and holds what follows it up to the next one. Messages before
    the first user message belong to no turn and are dropped: an assistant or tool message without
    the question that led to it only confuses the model.

    Turns are taken newest first and the walk stops at the first turn that does not fit, so the result
    is always contiguous and never splits a turn; a 0 bound keeps nothing.
    """
    if max_turns < 0 or max_tokens < 0:
        raise ValueError("max_turns and max_tokens must be >= 0")
    # One walk from the newest message back: a turn is complete when its user message is reached.
    start = len(messages)
    turns = 0
    total = 0
    pending = 0  # the cost of the turn being walked, since the last turn boundary
    for index in range(len(messages) - 1, -1, -1):
        if turns >= max_turns:
            break
        message = messages[index]
        pending += estimate_message_tokens(message)
        if message.role != "user":
            continue
        if total + pending > max_tokens:
            break
        total += pending
        pending = 0
        turns += 1
        start = index
    return list(messages[start:])


@dataclass(frozen=True, slots=True)
class Trimmed:
    """A history that `trim_history` returned, with its turn count and token cost kept beside it.

    `extend` then costs only the new and the dropped messages, not the whole history: the store
    that serves `parley serve` appends to a history of up to `maxTurns` turns on every message.
    """

    messages: tuple[ChatMessage, ...] = ()
    turns: int = 0
    tokens: int = 0

    @classmethod
    def of(cls, messages: Sequence[ChatMessage], *, max_turns: int, max_tokens: int) -> "Trimmed":
        kept = trim_history(messages, max_turns=max_turns, max_tokens=max_tokens)
        return cls(
            tuple(kept),
            sum(1 for m in kept if m.role == "user"),
            sum(estimate_message_tokens(m) for m in kept),
        )

    def extend(self, new: Sequence[ChatMessage], *, max_turns: int, max_tokens: int) -> "Trimmed":
        """The same as `Trimmed.of(self.messages + new)`, dropping whole turns from the oldest end."""
        if max_turns < 0 or max_tokens < 0:
            raise ValueError("max_turns and max_tokens must be >= 0")
        if not new or new[0].role != "user":  # leading non-user messages: the general walk decides
            return Trimmed.of([*self.messages, *new], max_turns=max_turns, max_tokens=max_tokens)
        messages = (*self.messages, *new)
        turns = self.turns + sum(1 for m in new if m.role == "user")
        tokens = self.tokens + sum(estimate_message_tokens(m) for m in new)
        start = 0
        while turns > max_turns or tokens > max_tokens:
            # drop the oldest turn: its user message and everything up to the next user message
            tokens -= estimate_message_tokens(messages[start])
            start += 1
            while start < len(messages) and messages[start].role != "user":
                tokens -= estimate_message_tokens(messages[start])
                start += 1
            turns -= 1
        return Trimmed(messages[start:] if start else messages, turns, tokens)
