"""A package folder plugin: config model, command, keyword matcher and an LLM tool.

The forecast itself lives in a submodule to show that relative imports work in folder plugins.
"""

import re

from pydantic import BaseModel, Field

from parley_runtime.plugins.api import CommandContext, MessageContext, Plugin, PluginConfig, ToolContext

from .forecast import forecast_for


class WeatherConfig(PluginConfig):
    default_city: str = "Beijing"
    units: str = Field(default="metric", pattern="^(metric|imperial)$")


class ForecastArgs(BaseModel):
    city: str = Field(description="city name, e.g. 北京 or Paris")


plugin = Plugin("weather", config_model=WeatherConfig, description="Weather forecasts")


@plugin.command("weather", description="the forecast: /weather <city>", aliases=("w",))
async def weather(ctx: CommandContext[WeatherConfig], args: str) -> str:
    return forecast_for(args or ctx.config.default_city, ctx.config.units)


@plugin.match(keywords=("umbrella", "雨伞"))
def umbrella(ctx: MessageContext[WeatherConfig], match: re.Match[str] | None) -> str:
    return "Take one: " + forecast_for(ctx.config.default_city, ctx.config.units)


@plugin.tool(description="Weather forecast for a city.", parameters=ForecastArgs)
async def get_forecast(ctx: ToolContext[WeatherConfig], city: str) -> str:
    return forecast_for(city, ctx.config.units)
