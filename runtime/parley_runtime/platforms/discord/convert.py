"""Discord interactions → `InboundMessage` (pure).

Only APPLICATION_COMMAND interactions (type 2) of the chat-input kind are messages. Their text is the
command's option values: for the "ask" commands just the values ("/ask prompt: hi" → "hi"), for any
other command "/name value…", so Parley's plugin commands work as Discord slash commands. ATTACHMENT
options (type 11) are not text: their ids resolve through `data.resolved.attachments` to attachments.
A slash command is always addressed to the bot; `is_group` says whether it came from a server.
"""

from collections.abc import Iterable
from typing import Any

from parley_runtime.core.messages import Attachment, InboundMessage, MediaKind
from parley_runtime.platforms.base import Origin

__all__ = [
    "APPLICATION_COMMAND",
    "PING",
    "BadInteraction",
    "command_attachments",
    "command_text",
    "interaction_to_inbound",
]

PING = 1
APPLICATION_COMMAND = 2
_CHAT_INPUT = 1
_SUBCOMMAND_TYPES = (1, 2)
_ATTACHMENT = 11


class BadInteraction(ValueError):
    """The body is not an interaction."""


def _values(options: Any) -> list[str]:
    values: list[str] = []
    if not isinstance(options, list):
        return values
    for option in options:
        if not isinstance(option, dict):
            continue
        if option.get("type") in _SUBCOMMAND_TYPES:
            if isinstance(option.get("name"), str):
                values.append(option["name"])
            values.extend(_values(option.get("options")))
        elif option.get("type") == _ATTACHMENT:
            continue  # an attachment id: the file is an attachment, not words
        elif isinstance(option.get("value"), (str, int, float)) and not isinstance(option.get("value"), bool):
            values.append(str(option["value"]))
    return values


def command_text(data: dict[str, Any], ask_commands: Iterable[str]) -> str:
    name = str(data.get("name", ""))
    values = _values(data.get("options"))
    if name in set(ask_commands):
        return " ".join(values).strip()
    return " ".join([f"/{name}", *values]).strip()


def _attachment_ids(options: Any) -> list[str]:
    ids: list[str] = []
    for option in options if isinstance(options, list) else ():
        if not isinstance(option, dict):
            continue
        if option.get("type") in _SUBCOMMAND_TYPES:
            ids.extend(_attachment_ids(option.get("options")))
        elif option.get("type") == _ATTACHMENT and isinstance(option.get("value"), str):
            ids.append(option["value"])
    return ids


def _media_kind(mime_type: str) -> MediaKind:
    if mime_type.startswith("image/"):
        return "image"
    return "audio" if mime_type.startswith("audio/") else "file"


def _attachment(item: Any) -> Attachment | None:
    """One resolved attachment object: its CDN `url` (signed, fetched without credentials)."""
    if not isinstance(item, dict) or not isinstance(item.get("url"), str) or not item["url"]:
        return None
    mime = item.get("content_type")
    mime = (
        mime.split(";", 1)[0].strip() if isinstance(mime, str) and "/" in mime else "application/octet-stream"
    )
    size, name = item.get("size"), item.get("filename")
    return Attachment(
        kind=_media_kind(mime),
        mime_type=mime,
        size=size if isinstance(size, int) and not isinstance(size, bool) and size >= 0 else None,
        url=item["url"],
        ref={"attachment_id": str(item["id"])} if isinstance(item.get("id"), str) else {},
        name=name if isinstance(name, str) else None,
    )


def command_attachments(data: dict[str, Any]) -> tuple[Attachment, ...]:
    """The files given to the command's ATTACHMENT options, in option order."""
    resolved = data.get("resolved")
    table = resolved.get("attachments") if isinstance(resolved, dict) else None
    if not isinstance(table, dict):
        return ()
    found = (_attachment(table.get(i)) for i in _attachment_ids(data.get("options")))
    return tuple(a for a in found if a is not None)


def _user(interaction: dict[str, Any]) -> dict[str, Any] | None:
    member = interaction.get("member")
    user = member.get("user") if isinstance(member, dict) else interaction.get("user")
    return user if isinstance(user, dict) and isinstance(user.get("id"), str) else None


def interaction_to_inbound(
    interaction: dict[str, Any], origin: Origin, *, ask_commands: Iterable[str]
) -> InboundMessage | None:
    """The event for an APPLICATION_COMMAND, None for ones the bot cannot answer as a chat message."""
    data, user = interaction.get("data"), _user(interaction)
    interaction_id, token, app_id = (interaction.get(k) for k in ("id", "token", "application_id"))
    if not all(isinstance(v, str) and v for v in (interaction_id, token, app_id)):
        raise BadInteraction("interaction without id/token/application_id")
    if not isinstance(data, dict) or data.get("type", _CHAT_INPUT) != _CHAT_INPUT or user is None:
        return None
    text = command_text(data, ask_commands)
    attachments = command_attachments(data)
    channel = interaction.get("channel_id")
    if not isinstance(channel, str):
        nested = interaction.get("channel")
        channel = nested.get("id") if isinstance(nested, dict) else None
    if not (text or attachments) or not isinstance(channel, str):
        return None
    name = user.get("global_name") or user.get("username")
    return InboundMessage(
        **origin.inbound_fields(),
        event_id=str(interaction_id),
        chat_id=channel,
        user_id=str(user["id"]),
        text=text,
        is_group=isinstance(interaction.get("guild_id"), str),
        mentioned=True,
        attachments=attachments,
        user_name=name if isinstance(name, str) else None,
        reply_context={"application_id": app_id, "interaction_token": token},
    )
