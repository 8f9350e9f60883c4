"""`PluginHost`: the one object the message pipeline talks to about plugins.

It owns the current snapshot of enabled plugins (swapped whole on hot reload) and is the error
boundary: whatever a plugin raises is logged, counted and contained here.

Choices the pipeline relies on:
- an unknown `/command` is not an error: `dispatch` returns None and the LLM answers the text, so a
  bot never swallows a message just because it starts with a slash;
- a command or matcher that returns None (or blank text, or an `Answer` with neither text nor images)
  declines the message, which then goes on to the next matcher (matchers) or to the LLM (commands);
- pictures a plugin returns (`Answer`, `ToolResult`) become image attachments holding `data:` URLs, the
  one form media takes in replies;
- a failing command answers with a short apology naming the command (the user asked for that
  command, so a silent fall-through to the LLM would be confusing); failing matchers and hooks are
  skipped.
"""

import asyncio
import copy
import inspect
import logging
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from parley_runtime.config.models import PluginSpec
from parley_runtime.core import media
from parley_runtime.core.chat import ChatRequest, ToolCall, ToolSpec
from parley_runtime.core.messages import Attachment, InboundMessage
from parley_runtime.core.protocols import PluginOutput
from parley_runtime.observability.metrics import Metrics
from parley_runtime.plugins import boundary, commands, discovery, folder, loading, reloading, schemas
from parley_runtime.plugins.api import Answer, Image, Plugin, ToolError, ToolResult
from parley_runtime.plugins.builtin import ALWAYS_ON
from parley_runtime.plugins.context import (
    CommandContext,
    MessageContext,
    PluginContext,
    PluginServices,
    ToolContext,
)
from parley_runtime.plugins.registry import LoadedPlugin, Registry

log = logging.getLogger("parley.plugins")

__all__ = ["PluginHost"]


def apology(command: str) -> str:
    return f"Sorry, /{command} failed. Please try again later."


def _attachments(images: Sequence[Image]) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(
            kind="image", mime_type=i.mime_type, size=len(i.data), url=media.data_url(i.data, i.mime_type)
        )
        for i in images
    )


def _answer_output(answer: Answer) -> str | PluginOutput | None:
    """A command's or matcher's `Answer` as the pipeline takes it; None when it says nothing."""
    if not answer.images:
        return answer.text if answer.text.strip() else None
    return PluginOutput(text=answer.text, attachments=_attachments(answer.images))


class PluginHost:
    def __init__(self, snapshot: Registry, *, services: PluginServices, metrics: Metrics) -> None:
        self.services = services
        self.metrics = metrics
        self._snapshot = snapshot
        self._reloader = reloading.Reloader()
        self._pending: list[reloading.Swap] = []  # swapped in, lifecycle hooks not yet run
        self._lock = threading.Lock()  # the watcher checks in a worker thread
        self._started = False
        self._closed = False

    @classmethod
    def load(
        cls,
        specs: Sequence[PluginSpec],
        *,
        services: PluginServices,
        metrics: Metrics,
        plugins_dir: Path | None = None,
        source: str = "<manifest>",
    ) -> "PluginHost":
        """Import and validate every enabled plugin; ConfigError (one line per problem) otherwise."""
        available = discovery.available(plugins_dir)
        return cls(loading.load_all(specs, available, source), services=services, metrics=metrics)

    @classmethod
    def from_plugins(
        cls,
        plugins: Sequence[Plugin[Any]],
        *,
        services: PluginServices,
        metrics: Metrics,
        configs: Mapping[str, Mapping[str, Any]] | None = None,
        builtins: bool = True,
        source: str = "<plugins>",
    ) -> "PluginHost":
        """A host for `Plugin` objects at hand (tests, embedding), plus `help` and `reset` unless
        `builtins=False`; `configs` maps plugin names to their raw config. Same errors as `load`."""
        available = discovery.available(None, builtins=ALWAYS_ON if builtins else ())
        available.update((p.name, discovery.Source(p.name, "object", repr(p), p)) for p in plugins)
        specs = [PluginSpec(name=p.name, config=dict((configs or {}).get(p.name, {}))) for p in plugins]
        return cls(loading.load_all(specs, available, source), services=services, metrics=metrics)

    @property
    def enabled(self) -> tuple[str, ...]:
        """Names of the active plugins, in the order they see messages."""
        return tuple(p.name for p in self._snapshot.plugins)

    # lifecycle

    async def start(self) -> None:
        if self._started:
            return
        self._started = True
        for loaded in self._snapshot.plugins:
            await self._run_lifecycle(loaded, "on_startup")

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await self._settle()
        if self._started:
            for loaded in reversed(self._snapshot.plugins):
                await self._run_lifecycle(loaded, "on_shutdown")
        for loaded in self._snapshot.plugins:
            if loaded.imported.module_name:
                folder.forget(loaded.imported.module_name)

    # the message path

    async def dispatch(self, message: InboundMessage) -> str | PluginOutput | None:
        """The reply when a plugin handled `message` (the LLM is then skipped), else None."""
        await self._settle()
        snapshot = self._snapshot
        for loaded in snapshot.plugins:
            for observe in loaded.plugin.message_hooks:
                await boundary.call(
                    loaded, self.metrics, "on_message hook", observe, self._mctx(loaded, message)
                )
        parsed = commands.parse(message.text)
        if parsed is not None:
            return await self._run_command(snapshot, message, parsed)
        for loaded in snapshot.plugins:
            for matcher in loaded.plugin.matchers:
                hit, found = matcher.test(message.text)
                if not hit:
                    continue
                what = f"matcher {getattr(matcher.handler, '__name__', '?')}"
                result = await boundary.call(
                    loaded, self.metrics, what, matcher.handler, self._mctx(loaded, message), found
                )
                reply = self._reply(loaded, what, result)
                if isinstance(reply, (str, PluginOutput)):
                    return reply
        return None

    async def _run_command(
        self, snapshot: Registry, message: InboundMessage, parsed: commands.ParsedCommand
    ) -> str | PluginOutput | None:
        found = snapshot.commands.get(parsed.name)
        if found is None:
            return None
        loaded, command = found
        ctx = CommandContext(
            loaded.name,
            loaded.config,
            loaded.logger,
            self.services,
            message,
            command=parsed.name,
            commands=snapshot.catalog,
        )
        what = f"command /{command.name}"
        result = await boundary.call(loaded, self.metrics, what, command.handler, ctx, parsed.args)
        if result is boundary.FAILED:
            return apology(command.name)
        reply = self._reply(loaded, what, result)
        if reply is boundary.FAILED:
            return apology(command.name)
        return reply if isinstance(reply, (str, PluginOutput)) else None

    def tool_specs(self) -> list[ToolSpec]:
        return [
            ToolSpec(name=tool.name, description=tool.description, parameters=copy.deepcopy(tool.parameters))
            for _, tool in self._snapshot.tools.values()
        ]

    async def call_tool(self, call: ToolCall, message: InboundMessage) -> str | PluginOutput:
        """The tool's answer, or an `error: …` line for the model; never raises."""
        found = self._snapshot.tools.get(call.name)
        if found is None:
            return f"error: unknown tool {call.name!r}"
        loaded, tool = found
        try:
            arguments = schemas.parse_arguments(call.arguments, tool.parameters, tool.model)
        except schemas.ArgumentsError as exc:
            return f"error: {call.name}: {exc}"
        ctx = ToolContext(
            loaded.name, loaded.config, loaded.logger, self.services, message, tool=tool.name, call_id=call.id
        )
        try:
            result: Any = tool.handler(ctx, **arguments)
            if inspect.isawaitable(result):
                result = await result
        except ToolError as exc:
            return f"error: {call.name}: {exc}"
        except Exception as exc:
            boundary.contained(loaded, self.metrics, f"tool {tool.name}")
            return f"error: {call.name} failed ({type(exc).__name__}); try something else"
        if isinstance(result, ToolResult):
            if not result.images:
                return result.text
            return PluginOutput(text=result.text, attachments=_attachments(result.images))
        return result if isinstance(result, str) else str(result)

    async def before_llm(self, message: InboundMessage, request: ChatRequest) -> ChatRequest:
        for loaded in self._snapshot.plugins:
            for hook in loaded.plugin.before_llm_hooks:
                result = await boundary.call(
                    loaded, self.metrics, "before_llm hook", hook, self._mctx(loaded, message), request
                )
                if isinstance(result, ChatRequest):
                    request = result
                elif result is not None and result is not boundary.FAILED:
                    self._wrong_type(loaded, "before_llm hook", result, "a ChatRequest or None")
        return request

    async def after_reply(self, message: InboundMessage, text: str) -> str:
        for loaded in self._snapshot.plugins:
            for hook in loaded.plugin.after_reply_hooks:
                what = "after_reply hook"
                result = await boundary.call(
                    loaded, self.metrics, what, hook, self._mctx(loaded, message), text
                )
                changed = self._text(loaded, what, result)
                if isinstance(changed, str) and changed:
                    text = changed
        return text

    # hot reload

    def reload_changed(self) -> list[str]:
        """One check of the folder plugins: swap in the changed ones that load; names swapped."""
        with self._lock:
            if self._closed:
                return []
            snapshot, swaps = self._reloader.check(self._snapshot)
            self._snapshot = snapshot
            self._pending.extend(swaps)
        return [swap.new.name for swap in swaps]

    async def watch(self, poll_seconds: float = 1.0) -> None:
        """Poll the folder plugins until cancelled (`parley serve` runs this as a task)."""
        while not self._closed:
            await asyncio.sleep(poll_seconds)
            try:
                await asyncio.to_thread(self.reload_changed)
            except Exception:
                log.exception("checking folder plugins for changes failed")
            await self._settle()

    async def _settle(self) -> None:
        """Run the lifecycle hooks that swaps owe: the new version starts, the old one stops."""
        with self._lock:
            swaps, self._pending = self._pending, []
        for swap in swaps:
            if self._started:
                await self._run_lifecycle(swap.new, "on_startup")
                await self._run_lifecycle(swap.old, "on_shutdown")
            if swap.old.imported.module_name:
                folder.forget(swap.old.imported.module_name)

    # helpers

    async def _run_lifecycle(self, loaded: LoadedPlugin, kind: str) -> None:
        hooks = loaded.plugin.startup_hooks if kind == "on_startup" else loaded.plugin.shutdown_hooks
        ctx = PluginContext(loaded.name, loaded.config, loaded.logger, self.services)
        for hook in hooks:
            await boundary.call(loaded, self.metrics, f"{kind} hook", hook, ctx)

    def _mctx(self, loaded: LoadedPlugin, message: InboundMessage) -> MessageContext[Any]:
        return MessageContext(loaded.name, loaded.config, loaded.logger, self.services, message)

    def _reply(self, loaded: LoadedPlugin, what: str, result: object) -> object:
        """A command's or matcher's result: its reply (str or PluginOutput), None when it declined,
        FAILED when it failed or returned something it should not."""
        if isinstance(result, Answer):
            return _answer_output(result)
        reply = self._text(loaded, what, result, "str, Answer or None")
        if isinstance(reply, str) and not reply.strip():
            return None
        return reply

    def _text(self, loaded: LoadedPlugin, what: str, result: object, expected: str = "str or None") -> Any:
        """str results pass, None and FAILED pass through, anything else is the plugin's bug."""
        if result is None or result is boundary.FAILED or isinstance(result, str):
            return result
        self._wrong_type(loaded, what, result, expected)
        return boundary.FAILED

    def _wrong_type(self, loaded: LoadedPlugin, what: str, result: object, expected: str) -> None:
        loaded.logger.error(
            "plugin %s: %s returned %s, expected %s", loaded.name, what, type(result).__name__, expected
        )
        self.metrics.plugin_errors.labels(plugin=loaded.name).inc()
