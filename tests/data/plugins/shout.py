"""A single-module folder plugin: `/shout text` answers in capitals."""

from parley_runtime.plugins.api import CommandContext, NoConfig, Plugin

plugin = Plugin("shout", description="Repeats what you say, loudly")


@plugin.command("shout", description="repeat the text in capitals")
def shout(ctx: CommandContext[NoConfig], args: str) -> str:
    return (args or "nothing to shout").upper() + "!"
