"""Whether a message gets an answer, by its binding's `spec.group`: a pure decision (docs/conversations.md).

The gateway applies it before the track pick and the enqueue, so a message the bot must not answer
never reaches the rate limit, the plugins or the model. The checks, in order:

1. a user or chat on a deny list is never answered, in a group or in private;
2. a private chat is answered (the allow lists and `reply` are about groups);
3. a group not on a non-empty `allowChats`, or a member not on a non-empty `allowUsers`, is ignored;
4. `reply: never` ignores every group message;
5. `reply: always` answers every group message; `mention` (the default) only *addressed* ones: the
   adapter says the bot was @-mentioned or replied to (`mentioned`), or the text starts with a wake word.

A wake word is matched case-insensitively after leading whitespace, at a word boundary ("/ask" wakes
"/ask why?" and "/ASK, why?" but not "/asking"; words in scripts written without spaces, such as
Chinese, need no boundary). It is stripped with the separators that follow it, in private chats too, so
plugins and the model never see it. A group message that is nothing but a wake word is ignored unless
it carries attachments (then it is kept with empty text: "/ask" with a photo asks about the photo); a
private one is kept as it was, since private chats are always answered.
"""

import re

from parley_runtime.config.models import GroupPolicy
from parley_runtime.core.messages import InboundMessage

__all__ = ["admit", "strip_wake_word"]

# Separators a person types between a wake word and the question: "bot, …", "/ask: …", "小助手，…".
_SEPARATORS = frozenset(" \t\r\n\u3000,，、:：;；.。!！?？-–—~～…")
# Scripts written without spaces between words start at the CJK radicals (then kana, CJK, Hangul…).
_UNSPACED_FROM = 0x2E80


def _spaced_word_char(char: str) -> bool:
    return char.isalnum() and ord(char) < _UNSPACED_FROM


def strip_wake_word(text: str, wake_words: list[str]) -> str | None:
    """`text` without the longest wake word it starts with and the separators after it; None when it
    starts with none."""
    lead = len(text) - len(text.lstrip())
    for word in sorted(wake_words, key=len, reverse=True):
        found = re.match(re.escape(word.strip()), text[lead:], re.IGNORECASE)
        if found is None:
            continue
        end = lead + found.end()
        if end < len(text) and _spaced_word_char(text[end - 1]) and _spaced_word_char(text[end]):
            continue  # "/ask" does not wake "/asking"
        while end < len(text) and text[end] in _SEPARATORS:
            end += 1
        return text[end:]
    return None


def admit(policy: GroupPolicy, message: InboundMessage) -> InboundMessage | None:
    """The message to enqueue (wake word stripped, `shared_session` from the policy in a group), or
    None when the bot ignores it."""
    # Deny lists hold everywhere: a blocked user cannot switch to a private chat.
    if message.user_id in policy.deny_users or message.chat_id in policy.deny_chats:
        return None
    stripped = strip_wake_word(message.text, policy.wake_words) if policy.wake_words else None
    if not message.is_group:
        # Private chats are always answered; only a bare wake word stays as it was (nothing else to say).
        if stripped is None or not (stripped or message.attachments):
            return message
        return message.model_copy(update={"text": stripped})
    # Allow lists narrow which groups and which members the bot speaks to.
    if policy.allow_chats and message.chat_id not in policy.allow_chats:
        return None
    if policy.allow_users and message.user_id not in policy.allow_users:
        return None
    if policy.reply == "never":
        return None
    # `mention`: only an addressed message; `always`: any, though a wake word is still stripped.
    if policy.reply == "mention" and not message.mentioned and stripped is None:
        return None
    if stripped is not None and not stripped and not message.attachments:
        return None  # nothing but the wake word: nothing to answer
    update: dict[str, object] = {"shared_session": policy.shared_session}
    if stripped is not None:
        update["text"] = stripped
    return message.model_copy(update=update)
