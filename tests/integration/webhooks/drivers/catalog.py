"""Every platform driver by name, each a context manager that runs the platform's fake API."""

from __future__ import annotations

import contextlib
from collections.abc import Callable

from integration.webhooks.drivers import (
    dingtalk,
    discord,
    feishu,
    http,
    qq,
    slack,
    telegram,
    wechat_mp,
    wecom,
)
from integration.webhooks.drivers.base import Driver

DRIVERS: dict[str, Callable[[], contextlib.AbstractContextManager[Driver]]] = {
    "feishu": lambda: feishu.driver("feishu"),
    "lark": lambda: feishu.driver("lark"),
    "dingtalk": dingtalk.driver,
    "wecom": wecom.driver,
    "wechat-mp": lambda: wechat_mp.driver(safe=False),
    "wechat-mp-safe": lambda: wechat_mp.driver(safe=True),
    "telegram": telegram.driver,
    "qq": qq.driver,
    "slack": slack.driver,
    "discord": discord.driver,
    "http": http.driver,
}

# Platforms whose callback URL is checked with a handshake before the platform sends events.
WITH_HANDSHAKE = ("feishu", "wecom", "wechat-mp", "wechat-mp-safe", "qq", "slack", "discord")
