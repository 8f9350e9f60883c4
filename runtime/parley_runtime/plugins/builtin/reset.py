"""`/reset`: forget this conversation's history so the next message starts fresh."""

from parley_runtime.plugins.api import CommandContext, NoConfig, Plugin

plugin = Plugin("reset", description="Clears the conversation history")


@plugin.command("reset", description="forget our conversation and start over")
async def reset(ctx: CommandContext[NoConfig], args: str) -> str:
    await ctx.services.reset_session(ctx.message)
    return "Done: I have forgotten our conversation. What would you like to talk about?"
