"""Per-platform facts the config needs: names, credential keys (docs/platforms/*.md, "Secret") and
typed settings."""

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
    # Replies go through the customer-service API: a passive reply in the callback's HTTP answer would
    # have to wait for the LLM, and WeChat gives up after 5 s.
    reply_mode: Literal["customer-service"] = "customer-service"


class TelegramSettings(PlatformSettings):
    """`botUsername` (without "@") lets group messages that @-mention the bot count as addressed to it."""

    mode: Literal["webhook", "polling"] = "webhook"
    poll_timeout_seconds: Annotated[int, Field(ge=0, le=50)] = 25
    bot_username: Annotated[str, Field(pattern=r"^@?[A-Za-z0-9_]{1,64}$")] | None = None


class QQSettings(PlatformSettings):
    """`sandbox` selects the sandbox API host; `tokenBase` overrides https://bots.qq.com (tests)."""

    sandbox: bool = False
    token_base: str | None = None


class OneBotSettings(PlatformSettings):
    """`actionTimeoutSeconds` bounds the wait for a `send_msg` answer; `quoteReply` quotes the user's
    message in group replies."""

    action_timeout_seconds: Annotated[float, Field(gt=0, le=120)] = 10.0
    quote_reply: bool = True


class SlackSettings(PlatformSettings):
    reply_in_thread: bool = True


class DiscordSettings(PlatformSettings):
    """Slash commands in `askCommands` pass only their option text to the bot ("/ask prompt: hi" → "hi");
    any other command arrives as "/name value…" for the plugin commands."""

    ask_commands: tuple[str, ...] = ("ask", "chat")


class HttpSettings(PlatformSettings):
    """Replies go to `callbackUrl`; a caller's own `callback_url` only under an allow-listed prefix."""

    callback_url: str | None = None
    allowed_callback_prefixes: tuple[str, ...] = ()
    callback_timeout_seconds: Annotated[float, Field(gt=0, le=60)] = 10.0


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
