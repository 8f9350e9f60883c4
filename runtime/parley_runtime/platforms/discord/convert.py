"""Discord interactions → `InboundMessage` (pure).

Only APPLICATION_COMMAND interactions (type 2) of the chat-input kind are messages. Their text is the
command's option values: for the "ask" commands just the values ("/ask prompt: hi" → "hi"), for any
other command "/name value…", so Parley's plugin commands work as Discord slash commands.
"""

from collections.abc import Iterable
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.platforms.base import Origin

__all__ = ["APPLICATION_COMMAND", "PING", "BadInteraction", "command_text", "interaction_to_inbound"]

PING = 1
APPLICATION_COMMAND = 2
_CHAT_INPUT = 1
_SUBCOMMAND_TYPES = (1, 2)


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
        elif isinstance(option.get("value"), (str, int, float)) and not isinstance(option.get("value"), bool):
            values.append(str(option["value"]))
    return values


def command_text(data: dict[str, Any], ask_commands: Iterable[str]) -> str:
    name = str(data.get("name", ""))
    values = _values(data.get("options"))
    if name in set(ask_commands):
        return " ".join(values).strip()
    return " ".join([f"/{name}", *values]).strip()


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
    channel = interaction.get("channel_id")
    if not isinstance(channel, str):
        nested = interaction.get("channel")
        channel = nested.get("id") if isinstance(nested, dict) else None
    if not text or not isinstance(channel, str):
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
        user_name=name if isinstance(name, str) else None,
        reply_context={"application_id": app_id, "interaction_token": token},
    )
