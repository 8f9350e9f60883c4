"""`dispatch`: on_message hooks, then a command or the first matcher that answers; else the LLM."""

import re
from collections.abc import Callable
from typing import Any

from parley_runtime.core.messages import InboundMessage
from parley_runtime.plugins.api import CommandContext, MessageContext, NoConfig, Plugin, PluginConfig
from parley_runtime.plugins.host import PluginHost

Make = Callable[..., Any]


class GreetConfig(PluginConfig):
    greeting: str = "Hello"


def greeter() -> Plugin[GreetConfig]:
    plugin = Plugin("greet", config_model=GreetConfig)

    @plugin.command("greet", description="say hello", aliases=("hi",))
    async def greet(ctx: CommandContext[GreetConfig], args: str) -> str:
        return f"{ctx.config.greeting}, {args or ctx.message.user_id} (via /{ctx.command})"

    return plugin


async def test_command_runs_with_args_config_and_message(make_host: Make, make_message: Make) -> None:
    host: PluginHost = make_host(greeter(), configs={"greet": {"greeting": "Bonjour"}})
    assert await host.dispatch(make_message("/greet Ada")) == "Bonjour, Ada (via /greet)"
    assert await host.dispatch(make_message("/hi@helpdesk_bot")) == "Bonjour, user-1 (via /hi)"


async def test_unknown_command_and_plain_text_fall_through_to_the_llm(
    make_host: Make, make_message: Make
) -> None:
    host: PluginHost = make_host(greeter())
    assert await host.dispatch(make_message("/weather Paris")) is None
    assert await host.dispatch(make_message("just chatting")) is None


async def test_matchers_run_in_manifest_order_and_first_reply_wins(
    make_host: Make, make_message: Make
) -> None:
    calls: list[str] = []
    first, second = Plugin("first"), Plugin("second")

    @first.match(keywords=("price",))
    def declines(ctx: MessageContext[NoConfig], match: re.Match[str] | None) -> str | None:
        calls.append("first.declines")
        return None

    @first.match(r"order #(\d+)")
    def order(ctx: MessageContext[NoConfig], match: re.Match[str] | None) -> str | None:
        calls.append("first.order")
        assert match is not None
        return f"order {match.group(1)} ships tomorrow"

    @second.match()
    def catch_all(ctx: MessageContext[NoConfig], match: re.Match[str] | None) -> str:
        calls.append("second.catch_all")
        return "catch-all"

    host: PluginHost = make_host(first, second)
    assert await host.dispatch(make_message("price of order #7?")) == "order 7 ships tomorrow"
    assert calls == ["first.declines", "first.order"]
    calls.clear()
    assert await host.dispatch(make_message("price?")) == "catch-all"
    assert calls == ["first.declines", "second.catch_all"]


async def test_on_message_hooks_observe_every_message_first(make_host: Make, make_message: Make) -> None:
    seen: list[str] = []
    spy = Plugin("spy")

    @spy.on_message
    async def observe(ctx: MessageContext[NoConfig]) -> None:
        seen.append(ctx.message.text)

    host: PluginHost = make_host(spy, greeter())
    await host.dispatch(make_message("/greet x"))
    await host.dispatch(make_message("plain"))
    assert seen == ["/greet x", "plain"]


async def test_command_returning_nothing_declines(make_host: Make, make_message: Make) -> None:
    quiet = Plugin("quiet")
    quiet.command("maybe")(lambda ctx, args: "  " if args else None)
    host: PluginHost = make_host(quiet)
    assert await host.dispatch(make_message("/maybe")) is None
    assert await host.dispatch(make_message("/maybe x")) is None


async def test_help_lists_enabled_commands_in_order(make_host: Make, make_message: Make) -> None:
    host: PluginHost = make_host(greeter())
    reply = await host.dispatch(make_message("/help"))
    assert reply is not None
    lines = reply.splitlines()
    assert lines[0] == "Commands:"
    assert lines[1].startswith("/help — ")
    assert lines[2].startswith("/reset — ")
    assert lines[3] == "/greet (also /hi) — say hello"


async def test_reset_clears_the_session_of_the_sender(
    make_host: Make, make_message: Make, resets: Any
) -> None:
    host: PluginHost = make_host()
    message: InboundMessage = make_message("/reset", user_id="u-9")
    reply = await host.dispatch(message)
    assert reply is not None and "forgotten" in reply
    assert resets.messages == [message]


async def test_builtins_can_be_left_out(make_host: Make, make_message: Make) -> None:
    host: PluginHost = make_host(greeter(), builtins=False)
    assert host.enabled == ("greet",)
    assert await host.dispatch(make_message("/help")) is None


async def test_before_llm_and_after_reply_chain_changes(make_host: Make, make_message: Make) -> None:
    from parley_runtime.core.chat import ChatMessage, ChatRequest

    a, b = Plugin("a"), Plugin("b")

    @a.before_llm
    def add_context(ctx: MessageContext[NoConfig], request: ChatRequest) -> ChatRequest:
        extra = ChatMessage(role="system", content="The user is on telegram.")
        return request.model_copy(update={"messages": (extra, *request.messages)})

    @b.before_llm
    def leave(ctx: MessageContext[NoConfig], request: ChatRequest) -> None:
        return None

    @a.after_reply
    async def sign(ctx: MessageContext[NoConfig], text: str) -> str:
        return text + " — bot"

    @b.after_reply
    def shout(ctx: MessageContext[NoConfig], text: str) -> str:
        return text.upper()

    host: PluginHost = make_host(a, b)
    request = ChatRequest(messages=(ChatMessage(role="user", content="hi"),))
    changed = await host.before_llm(make_message("hi"), request)
    assert [m.content for m in changed.messages] == ["The user is on telegram.", "hi"]
    assert await host.after_reply(make_message("hi"), "hello") == "HELLO — BOT"


async def test_lifecycle_hooks_run_once_each(make_host: Make) -> None:
    events: list[str] = []
    plugin = Plugin("life")
    plugin.on_startup(lambda ctx: events.append(f"up:{ctx.plugin}:{ctx.services.bot}"))
    plugin.on_shutdown(lambda ctx: events.append("down"))
    host: PluginHost = make_host(plugin)
    await host.start()
    await host.start()
    await host.aclose()
    await host.aclose()
    assert events == ["up:life:helpdesk", "down"]


async def test_plugin_logger_is_named_after_the_plugin(make_host: Make, make_message: Make) -> None:
    plugin = Plugin("logs")
    plugin.command("who")(lambda ctx, args: ctx.logger.name)
    host: PluginHost = make_host(plugin)
    assert await host.dispatch(make_message("/who")) == "parley.plugin.logs"
