"""What a plugin's handlers receive: the services the app lends it and one context per call kind."""

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import httpx
from pydantic import BaseModel

from parley_runtime.core.messages import InboundMessage

C = TypeVar("C", bound=BaseModel)


@dataclass(frozen=True)
class PluginServices:
    """Shared by every plugin of one bot; built once by the app and passed to `PluginHost.load`."""

    http: httpx.AsyncClient = field(repr=False)
    clock: Callable[[], float]  # time.time in production; a fixed clock in tests
    reset_session: Callable[[InboundMessage], Awaitable[None]]  # what /reset calls
    bot: str


@dataclass(frozen=True)
class CommandInfo:
    """One enabled command as `/help` shows it."""

    name: str
    description: str
    aliases: tuple[str, ...]
    plugin: str


@dataclass(frozen=True)
class PluginContext(Generic[C]):
    """Startup and shutdown hooks get this; the other contexts add the message being handled."""

    plugin: str
    config: C
    logger: logging.Logger
    services: PluginServices


@dataclass(frozen=True)
class MessageContext(PluginContext[C]):
    message: InboundMessage


@dataclass(frozen=True)
class CommandContext(MessageContext[C]):
    command: str  # the name the user typed (may be an alias)
    commands: tuple[CommandInfo, ...]  # every enabled command, in manifest order


@dataclass(frozen=True)
class ToolContext(MessageContext[C]):
    tool: str
    call_id: str
