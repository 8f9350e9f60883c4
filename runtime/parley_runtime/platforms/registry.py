"""The literal map from platform name to adapter factory, resolved at start-up (never at import)."""

import importlib
from collections.abc import Callable

from parley_runtime.core.protocols import PlatformAdapter
from parley_runtime.platforms.base import AdapterContext

AdapterFactory = Callable[[AdapterContext], PlatformAdapter]

FACTORIES: dict[str, str] = {
    "feishu": "parley_runtime.platforms.feishu.adapter:create",
    "lark": "parley_runtime.platforms.feishu.adapter:create",
    "dingtalk": "parley_runtime.platforms.dingtalk.adapter:create",
    "wecom": "parley_runtime.platforms.wecom.adapter:create",
    "wechat-mp": "parley_runtime.platforms.wechat_mp.adapter:create",
    "telegram": "parley_runtime.platforms.telegram.adapter:create",
    "qq": "parley_runtime.platforms.qq.adapter:create",
    "onebot": "parley_runtime.platforms.onebot.adapter:create",
    "slack": "parley_runtime.platforms.slack.adapter:create",
    "discord": "parley_runtime.platforms.discord.adapter:create",
    "http": "parley_runtime.platforms.http.adapter:create",
}


def factory(platform: str) -> AdapterFactory:
    module_name, _, attr = FACTORIES[platform].partition(":")
    module = importlib.import_module(module_name)
    create: AdapterFactory = getattr(module, attr)
    return create
