"""Per-platform facts the config needs: names, credential keys (SPEC §6) and typed settings."""

import typing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

PlatformName = Literal[
    "feishu", "lark", "dingtalk", "wecom", "wechat-mp", "telegram", "qq", "onebot", "slack", "discord", "http"
]
PLATFORM_NAMES: tuple[str, ...] = typing.get_args(PlatformName)

REQUIRED_KEYS: dict[str, tuple[str, ...]] = {
    "feishu": ("appId", "appSecret", "verificationToken"),
    "lark": ("appId", "appSecret", "verificationToken"),
    "dingtalk": ("appKey", "appSecret"),
    "wecom": ("corpId", "agentId", "secret", "token", "encodingAESKey"),
    "wechat-mp": ("appId", "appSecret", "token"),
    "telegram": ("botToken", "secretToken"),
    "qq": ("appId", "appSecret"),
    "onebot": ("accessToken",),
    "slack": ("botToken", "signingSecret"),
    "discord": ("applicationId", "publicKey", "botToken"),
    "http": (),
}

OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "feishu": ("encryptKey",),
    "lark": ("encryptKey",),
    "wechat-mp": ("encodingAESKey",),
    "http": ("token",),
}


class PlatformSettings(BaseModel):
    """Settings every platform accepts; `apiBase` overrides the outbound API base URL."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True, alias_generator=to_camel)

    api_base: str | None = None


class FeishuSettings(PlatformSettings):
    receive_id_type: Literal["chat_id", "open_id", "user_id", "union_id"] = "chat_id"
    reply_in_thread: bool = False


class DingTalkSettings(PlatformSettings):
    mode: Literal["http", "stream"] = "http"
    robot_code: str | None = None


class WeComSettings(PlatformSettings):
    pass


class WeChatMpSettings(PlatformSettings):
    reply_mode: Literal["customer-service", "passive"] = "customer-service"


class TelegramSettings(PlatformSettings):
    mode: Literal["webhook", "polling"] = "webhook"
    poll_timeout_seconds: Annotated[int, Field(ge=0, le=50)] = 25


class QQSettings(PlatformSettings):
    sandbox: bool = False


class OneBotSettings(PlatformSettings):
    pass


class SlackSettings(PlatformSettings):
    reply_in_thread: bool = True


class DiscordSettings(PlatformSettings):
    pass


class HttpSettings(PlatformSettings):
    callback_url: str | None = None


SETTINGS_MODELS: dict[str, type[PlatformSettings]] = {
    "feishu": FeishuSettings,
    "lark": FeishuSettings,
    "dingtalk": DingTalkSettings,
    "wecom": WeComSettings,
    "wechat-mp": WeChatMpSettings,
    "telegram": TelegramSettings,
    "qq": QQSettings,
    "onebot": OneBotSettings,
    "slack": SlackSettings,
    "discord": DiscordSettings,
    "http": HttpSettings,
}


def validate_settings(platform: str, settings: dict[str, Any]) -> PlatformSettings:
    return SETTINGS_MODELS[platform].model_validate(settings)
