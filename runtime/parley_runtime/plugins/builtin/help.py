"""`/help`: every enabled command with its description, in manifest order."""

from parley_runtime.plugins.api import CommandContext, NoConfig, Plugin

plugin = Plugin("help", description="Lists the bot's commands")


@plugin.command("help", description="list the commands this bot understands")
def show_help(ctx: CommandContext[NoConfig], args: str) -> str:
    lines = ["Commands:"]
    for info in ctx.commands:
        also = f" (also {', '.join('/' + a for a in info.aliases)})" if info.aliases else ""
        about = f" — {info.description}" if info.description else ""
        lines.append(f"/{info.name}{also}{about}")
    lines.append("Anything else is answered by the assistant.")
    return "\n".join(lines)
