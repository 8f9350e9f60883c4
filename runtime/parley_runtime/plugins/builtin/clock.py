"""`clock`: the current time for the model (tool `current_time`) and for users (`/time [zone]`).

Models do not know what time it is; this is the smallest useful tool and a template for others.
The time comes from `services.clock`, so tests pin it.
"""

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, Field, field_validator

from parley_runtime.plugins.api import CommandContext, Plugin, PluginConfig, ToolContext, ToolError


def zone(name: str) -> ZoneInfo:
    """The IANA zone `name`; ValueError with a hint otherwise."""
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown timezone {name!r}; use an IANA name such as Asia/Shanghai or UTC"
        ) from None


class ClockConfig(PluginConfig):
    default_timezone: str = "UTC"

    @field_validator("default_timezone")
    @classmethod
    def _known(cls, value: str) -> str:
        zone(value)
        return value


class CurrentTimeArgs(BaseModel):
    timezone: str | None = Field(
        default=None, description="IANA timezone name, e.g. Asia/Shanghai; the bot's default when omitted"
    )


plugin = Plugin("clock", config_model=ClockConfig, description="Current date and time")


def describe(now: float, tz_name: str) -> str:
    moment = datetime.fromtimestamp(now, zone(tz_name)).replace(microsecond=0)
    return f"{moment.isoformat()} ({moment:%A}, {moment:%Y-%m-%d}, timezone {tz_name.strip()})"


@plugin.tool(description="The current date, time and weekday in a timezone.", parameters=CurrentTimeArgs)
async def current_time(ctx: ToolContext[ClockConfig], timezone: str | None = None) -> str:
    try:
        return describe(ctx.services.clock(), timezone or ctx.config.default_timezone)
    except ValueError as exc:
        raise ToolError(str(exc)) from None


@plugin.command("time", description="the current time; /time Asia/Tokyo for another timezone")
def time_command(ctx: CommandContext[ClockConfig], args: str) -> str:
    try:
        return describe(ctx.services.clock(), args or ctx.config.default_timezone)
    except ValueError as exc:
        text = str(exc)
        return text[:1].upper() + text[1:]
