"""The public API for plugin authors: one `Plugin` object per plugin, filled in by decorators.

    plugin = Plugin("weather", config_model=WeatherConfig, description="Weather reports")

    @plugin.command("weather", description="Today's weather: /weather <city>")
    async def weather(ctx: CommandContext[WeatherConfig], args: str) -> str: ...

Decorators only record handlers on the object; nothing runs until a `PluginHost` loads it. Handlers
of commands, matchers and hooks may be plain functions or coroutines; a plain one runs on the event
loop, so it must not block.

Commands and matchers answer with text, or with `Answer(text, images=[Image(png_bytes)])` to send
pictures too; a tool answers the model with text, or with `ToolResult(text, images=[...])` whose
images are attached to the bot's final reply (the model reads only the text).
"""

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast, overload

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

from parley_runtime.core.chat import ChatRequest
from parley_runtime.plugins import schemas
from parley_runtime.plugins.context import (
    CommandContext,
    CommandInfo,
    MessageContext,
    PluginContext,
    PluginServices,
    ToolContext,
)

__all__ = [
    "Answer",
    "Command",
    "CommandContext",
    "CommandInfo",
    "Image",
    "Matcher",
    "MessageContext",
    "NoConfig",
    "Plugin",
    "PluginConfig",
    "PluginContext",
    "PluginDefinitionError",
    "PluginServices",
    "Tool",
    "ToolContext",
    "ToolError",
    "ToolResult",
]

NAME_PATTERN = r"^[a-z0-9]([-_a-z0-9]*[a-z0-9])?$"  # the same rule as `spec.plugins[].name`
COMMAND_PATTERN = r"^[a-z0-9_][-a-z0-9_]{0,31}$"  # Telegram's command alphabet, plus "-"
TOOL_PATTERN = r"^[a-zA-Z0-9_-]{1,64}$"  # what every function-calling provider accepts


class PluginConfig(BaseModel):
    """Base for plugin config models: camelCase keys and unknown keys rejected, like the manifest."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=to_camel)


class NoConfig(PluginConfig):
    """The config of a plugin that takes none: any key under `config:` is an error."""


class PluginDefinitionError(ValueError):
    """A decorator was used wrongly (bad name, bad schema): raised when the plugin module is imported."""


class ToolError(Exception):
    """Raise from a tool to tell the model why it failed; the message is passed on verbatim.

    Unlike any other exception it is an expected outcome: not logged as a crash, not counted.
    """


@dataclass(frozen=True)
class Image:
    """A picture a plugin sends: its bytes and their type (`image/png`, `image/jpeg`…)."""

    data: bytes = field(repr=False)
    mime_type: str = "image/png"

    def __post_init__(self) -> None:
        if not isinstance(self.data, bytes) or not self.data:
            raise TypeError("Image.data must be non-empty bytes")
        if not self.mime_type.startswith("image/"):
            raise ValueError(f"Image.mime_type must be an image type, not {self.mime_type!r}")


@dataclass(frozen=True)
class Answer:
    """A command's or matcher's reply with pictures; `text` may be empty when `images` is not."""

    text: str = ""
    images: Sequence[Image] = ()

    def __post_init__(self) -> None:
        _check(self.text, self.images)


@dataclass(frozen=True)
class ToolResult:
    """A tool's result with pictures: `text` goes back to the model, `images` to the user's reply."""

    text: str
    images: Sequence[Image] = ()

    def __post_init__(self) -> None:
        _check(self.text, self.images)


def _check(text: object, images: Sequence[object]) -> None:
    """Mistakes show where the plugin made them, not later in the pipeline."""
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, not {type(text).__name__}")
    if isinstance(images, (str, bytes)) or not all(isinstance(i, Image) for i in images):
        raise TypeError("images must be a list of Image")


C = TypeVar("C", bound=BaseModel)
Reply = str | Answer | None
CommandFn = Callable[[CommandContext[C], str], Reply | Awaitable[Reply]]
MatchFn = Callable[[MessageContext[C], "re.Match[str] | None"], Reply | Awaitable[Reply]]
ToolFn = Callable[..., Awaitable[str | ToolResult]]
LifecycleFn = Callable[[PluginContext[C]], Awaitable[None] | None]
MessageHookFn = Callable[[MessageContext[C]], Awaitable[None] | None]
BeforeLlmFn = Callable[[MessageContext[C], ChatRequest], ChatRequest | Awaitable[ChatRequest | None] | None]
AfterReplyFn = Callable[[MessageContext[C], str], str | Awaitable[str | None] | None]


@dataclass(frozen=True)
class Command(Generic[C]):
    name: str
    description: str
    aliases: tuple[str, ...]
    handler: CommandFn[C]


@dataclass(frozen=True)
class Matcher(Generic[C]):
    """Fires when `regex` is found in the text or any keyword is (case-insensitive); neither = always."""

    regex: "re.Pattern[str] | None"
    keywords: tuple[str, ...]
    handler: MatchFn[C]

    def test(self, text: str) -> "tuple[bool, re.Match[str] | None]":
        if self.regex is None and not self.keywords:
            return True, None
        found = self.regex.search(text) if self.regex is not None else None
        if found is not None:
            return True, found
        folded = text.casefold()
        return any(k.casefold() in folded for k in self.keywords), None


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    parameters: dict[str, Any]  # JSON Schema of the arguments object, refs inlined
    model: type[BaseModel] | None  # when given, arguments are validated by it instead of the schema
    handler: ToolFn


class Plugin(Generic[C]):
    """A named bundle of handlers plus the model its `config:` block is validated against."""

    @overload
    def __init__(self: "Plugin[NoConfig]", name: str, *, description: str = "") -> None: ...

    @overload
    def __init__(self, name: str, *, config_model: type[C], description: str = "") -> None: ...

    def __init__(self, name: str, *, config_model: type[Any] = NoConfig, description: str = "") -> None:
        if not re.fullmatch(NAME_PATTERN, name) or len(name) > 63:
            raise PluginDefinitionError(f"plugin name {name!r} must match {NAME_PATTERN} (max 63 chars)")
        if not (isinstance(config_model, type) and issubclass(config_model, BaseModel)):
            raise PluginDefinitionError(f"plugin {name!r}: config_model must be a pydantic model class")
        self.name = name
        self.description = description
        self.config_model: type[C] = cast("type[C]", config_model)
        self.commands: list[Command[C]] = []
        self.matchers: list[Matcher[C]] = []
        self.tools: list[Tool] = []
        self.startup_hooks: list[LifecycleFn[C]] = []
        self.shutdown_hooks: list[LifecycleFn[C]] = []
        self.message_hooks: list[MessageHookFn[C]] = []
        self.before_llm_hooks: list[BeforeLlmFn[C]] = []
        self.after_reply_hooks: list[AfterReplyFn[C]] = []

    def __repr__(self) -> str:
        return f"Plugin({self.name!r})"

    def command(
        self, name: str, *, description: str = "", aliases: Sequence[str] = ()
    ) -> Callable[[CommandFn[C]], CommandFn[C]]:
        """`/name args` (also `/name@botname args`): the handler gets the text after the name."""
        names = [name, *aliases]
        for n in names:
            if not re.fullmatch(COMMAND_PATTERN, n):
                raise PluginDefinitionError(
                    f"plugin {self.name!r}: command name {n!r} must be 1-32 of a-z 0-9 _ - (no slash)"
                )
        taken = {n for c in self.commands for n in (c.name, *c.aliases)}
        clash = sorted(taken.intersection(names))
        if clash or len(set(names)) != len(names):
            raise PluginDefinitionError(
                f"plugin {self.name!r}: command /{(clash or names)[0]} registered twice"
            )

        def register(fn: CommandFn[C]) -> CommandFn[C]:
            self.commands.append(Command(name, description, tuple(aliases), fn))
            return fn

        return register

    def match(
        self, regex: "str | re.Pattern[str] | None" = None, *, keywords: Sequence[str] = ()
    ) -> Callable[[MatchFn[C]], MatchFn[C]]:
        """A handler for plain messages; the first matcher (manifest order) that replies wins."""
        if isinstance(keywords, str):
            raise PluginDefinitionError(f"plugin {self.name!r}: keywords must be a list of strings")
        try:
            pattern = re.compile(regex) if isinstance(regex, str) else regex
        except re.error as exc:
            raise PluginDefinitionError(f"plugin {self.name!r}: bad regex {regex!r}: {exc}") from None
        words = tuple(k for k in keywords if k)

        def register(fn: MatchFn[C]) -> MatchFn[C]:
            self.matchers.append(Matcher(pattern, words, fn))
            return fn

        return register

    def tool(
        self,
        name: str | None = None,
        *,
        description: str = "",
        parameters: dict[str, Any] | type[BaseModel] | None = None,
    ) -> Callable[[ToolFn], ToolFn]:
        """An LLM function: `async (ctx: ToolContext, **arguments) -> str | ToolResult`.

        `parameters` is a JSON Schema object or a pydantic model (validated, then passed as keywords).
        """

        def register(fn: ToolFn) -> ToolFn:
            tool_name = str(name or getattr(fn, "__name__", ""))
            if not re.fullmatch(TOOL_PATTERN, tool_name):
                raise PluginDefinitionError(
                    f"plugin {self.name!r}: tool name {tool_name!r} must be 1-64 of a-z A-Z 0-9 _ -"
                )
            if any(t.name == tool_name for t in self.tools):
                raise PluginDefinitionError(f"plugin {self.name!r}: tool {tool_name!r} registered twice")
            try:
                schema, model = schemas.tool_parameters(parameters)
            except ValueError as exc:
                raise PluginDefinitionError(f"plugin {self.name!r}: tool {tool_name!r}: {exc}") from None
            text = description or (fn.__doc__ or "").strip().split("\n\n")[0]
            self.tools.append(Tool(tool_name, " ".join(text.split()), schema, model, fn))
            return fn

        return register

    def on_startup(self, fn: LifecycleFn[C]) -> LifecycleFn[C]:
        self.startup_hooks.append(fn)
        return fn

    def on_shutdown(self, fn: LifecycleFn[C]) -> LifecycleFn[C]:
        self.shutdown_hooks.append(fn)
        return fn

    def on_message(self, fn: MessageHookFn[C]) -> MessageHookFn[C]:
        """Observe every inbound message before commands and matchers run; cannot answer it."""
        self.message_hooks.append(fn)
        return fn

    def before_llm(self, fn: BeforeLlmFn[C]) -> BeforeLlmFn[C]:
        """Return a changed `ChatRequest` (e.g. extra system context), or None to leave it as is."""
        self.before_llm_hooks.append(fn)
        return fn

    def after_reply(self, fn: AfterReplyFn[C]) -> AfterReplyFn[C]:
        """Return changed reply text, or None to leave it as is."""
        self.after_reply_hooks.append(fn)
        return fn
