"""The group policy decides, from the binding's `spec.group`, which messages the bot answers."""

from typing import Any

import pytest

from factories import make_inbound
from parley_runtime.config.models import GroupPolicy
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.gateway.group_policy import admit, strip_wake_word

PHOTO = Attachment(kind="image", mime_type="image/png", url="data:image/png;base64,iVBORw0KGgo=")


def policy(**fields: Any) -> GroupPolicy:
    return GroupPolicy.model_validate(fields)


def private(text: str = "hello", **fields: Any) -> InboundMessage:
    return make_inbound(text, user_id="alice", chat_id="alice", **fields)


def group(text: str = "hello", *, mentioned: bool = False, **fields: Any) -> InboundMessage:
    fields.setdefault("user_id", "alice")
    fields.setdefault("chat_id", "team")
    return make_inbound(text, is_group=True, mentioned=mentioned, **fields)


def test_private_chats_are_answered_unchanged_by_default() -> None:
    message = private()
    assert admit(GroupPolicy(), message) is message


@pytest.mark.parametrize("reply", ["never", "mention", "always"])
def test_private_chats_are_answered_whatever_the_group_reply(reply: str) -> None:
    assert admit(policy(reply=reply), private("hi")) == private("hi")


def test_allow_lists_do_not_silence_private_chats() -> None:
    assert admit(policy(allowChats=["team"], allowUsers=["bob"]), private()) == private()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"denyUsers": ["alice"]}, private()),
        ({"denyChats": ["alice"]}, private()),
        ({"denyUsers": ["alice"], "reply": "always"}, group()),
        ({"denyChats": ["team"], "reply": "always"}, group()),
        ({"denyUsers": ["alice"]}, group(mentioned=True)),
    ],
)
def test_deny_lists_hold_in_private_and_in_groups(fields: dict[str, Any], message: InboundMessage) -> None:
    assert admit(policy(**fields), message) is None


def test_deny_lists_leave_others_alone() -> None:
    rules = policy(denyUsers=["mallory"], denyChats=["spam"], reply="always")
    assert admit(rules, private()) == private()
    assert admit(rules, group()) is not None


def test_default_policy_answers_only_mentions_in_a_group() -> None:
    assert admit(GroupPolicy(), group("chatter")) is None
    answered = admit(GroupPolicy(), group("what time is it?", mentioned=True))
    assert answered is not None and answered.text == "what time is it?"


def test_never_ignores_even_a_mention() -> None:
    assert admit(policy(reply="never"), group("hi", mentioned=True)) is None


def test_always_answers_an_unaddressed_group_message() -> None:
    answered = admit(policy(reply="always"), group("anyone here?"))
    assert answered is not None and answered.text == "anyone here?"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/ask what is 2+2?", "what is 2+2?"),
        ("/ASK what is 2+2?", "what is 2+2?"),
        ("  /Ask, what is 2+2?", "what is 2+2?"),
        ("/ask: what is 2+2?", "what is 2+2?"),
        ("/ask — what is 2+2?", "what is 2+2?"),
        ("hey Parley!! tell me", "tell me"),
        ("小助手，今天谁值班？", "今天谁值班？"),
        ("小助手今天谁值班？", "今天谁值班？"),
        ("/ask\n(a) or (b)?", "(a) or (b)?"),
    ],
)
def test_a_wake_word_addresses_the_bot_and_is_stripped(text: str, expected: str) -> None:
    rules = policy(wakeWords=["/ask", "hey parley", "小助手"])
    answered = admit(rules, group(text))
    assert answered is not None and answered.text == expected


@pytest.mark.parametrize("text", ["/asking around", "please /ask later", "hey parleyvoo", "ask me"])
def test_a_wake_word_counts_only_at_the_start_and_at_a_word_boundary(text: str) -> None:
    assert admit(policy(wakeWords=["/ask", "hey parley"]), group(text)) is None


def test_the_longest_wake_word_wins() -> None:
    assert strip_wake_word("bot please help", ["bot", "bot please"]) == "help"
    assert strip_wake_word("no wake word", ["bot"]) is None


def test_a_wake_word_is_stripped_from_mentions_and_with_reply_always_too() -> None:
    mentioned = admit(policy(wakeWords=["/ask"]), group("/ask why", mentioned=True))
    always = admit(policy(wakeWords=["/ask"], reply="always"), group("/ask why"))
    assert mentioned is not None and mentioned.text == "why"
    assert always is not None and always.text == "why"


def test_a_bare_wake_word_is_ignored_in_a_group_unless_it_carries_media() -> None:
    rules = policy(wakeWords=["/ask"])
    assert admit(rules, group("/ask")) is None
    assert admit(rules, group(" /ask ,")) is None
    with_photo = admit(rules, group("/ask", attachments=(PHOTO,)))
    assert with_photo is not None and with_photo.text == "" and with_photo.attachments == (PHOTO,)


def test_a_wake_word_is_stripped_in_private_too_unless_nothing_would_remain() -> None:
    rules = policy(wakeWords=["/ask"])
    stripped = admit(rules, private("/ask why"))
    assert stripped is not None and stripped.text == "why"
    assert admit(rules, private("/ask")) == private("/ask")
    with_photo = admit(rules, private("/ask", attachments=(PHOTO,)))
    assert with_photo is not None and with_photo.text == ""


def test_allow_chats_narrows_the_groups() -> None:
    rules = policy(allowChats=["team"], reply="always")
    assert admit(rules, group(chat_id="team")) is not None
    assert admit(rules, group(chat_id="elsewhere")) is None
    assert admit(rules, group(chat_id="elsewhere", mentioned=True)) is None


def test_allow_users_narrows_the_members() -> None:
    rules = policy(allowUsers=["alice"])
    assert admit(rules, group(user_id="alice", mentioned=True)) is not None
    assert admit(rules, group(user_id="bob", mentioned=True)) is None


def test_shared_session_comes_from_the_policy_for_group_messages_only() -> None:
    shared = policy(sharedSession=True, reply="always")
    in_group = admit(shared, group())
    assert in_group is not None and in_group.shared_session is True
    per_member = admit(policy(reply="always"), group(shared_session=True))
    assert per_member is not None and per_member.shared_session is False
    in_private = admit(shared, private())
    assert in_private is not None and in_private.shared_session is False


def test_nothing_but_text_and_session_changes() -> None:
    message = group("/ask why", mentioned=True, reply_context={"message_id": 7}, attachments=(PHOTO,))
    answered = admit(policy(wakeWords=["/ask"], sharedSession=True), message)
    assert answered == message.model_copy(update={"text": "why", "shared_session": True})
