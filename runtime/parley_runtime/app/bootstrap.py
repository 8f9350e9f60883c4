"""Turns command-line arguments and environment into a validated `RuntimeConfig` (or ConfigError).

Each role reads only the secrets it uses: the gateway never calls a model or answers the chat API
itself, so its pod may lack model keys and the API token; engines need everything.
"""

import argparse
import dataclasses
from pathlib import Path
from typing import Any

import pydantic

from parley_runtime.config import loader, secrets
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import Loaded
from parley_runtime.config.models import Api, ChatBot, PlatformBinding
from parley_runtime.config.settings import RuntimeSettings


@dataclasses.dataclass(frozen=True)
class RuntimeConfig:
    settings: RuntimeSettings
    bot: Loaded[ChatBot]
    bindings: tuple[Loaded[PlatformBinding], ...]
    secrets: secrets.Secrets
    internal_token: str | None = dataclasses.field(
        default=None, repr=False
    )  # gateway → engine, cluster roles only

    @property
    def name(self) -> str:
        return self.bot.obj.name


def settings_from_args(role: str, args: argparse.Namespace) -> RuntimeSettings:
    """Flags win over `PARLEY_*` environment variables, which win over defaults."""
    overrides: dict[str, Any] = {"role": role}
    for flag, field in (
        ("files", "config_files"),
        ("bot", "bot_name"),
        ("secrets_dir", "secrets_dir"),
        ("data_dir", "data_dir"),
        ("plugins_dir", "plugins_dir"),
        ("port", "port"),
        ("host", "host"),
        ("track", "track"),
    ):
        value = getattr(args, flag, None)
        if value is not None:
            overrides[field] = tuple(value) if flag == "files" else value
    try:
        return RuntimeSettings(**overrides)
    except pydantic.ValidationError as exc:
        problems = [
            f"PARLEY_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            for e in exc.errors(include_url=False)
        ]
        raise ConfigError(problems) from None


def load(settings: RuntimeSettings) -> RuntimeConfig:
    manifests = loader.load_manifests(settings.config_files)
    bot = manifests.bot(settings.bot_name)
    bindings = manifests.bindings_for(bot.obj.name)
    need_redis = settings.role != "serve" and settings.redis_url is None and settings.redis_url_file is None
    if need_redis and bot.obj.spec.redis is None:
        raise ConfigError(
            [
                f"{bot.source}: ChatBot/{bot.obj.name}: spec.redis: the {settings.role} role needs Redis "
                "(set spec.redis.url or PARLEY_REDIS_URL)"
            ]
        )
    wanted = _needed_by_gateway(bot) if settings.role == "gateway" else bot
    resolved = secrets.resolve(wanted, bindings, Path(settings.secrets_dir), need_redis=need_redis)
    token = _internal_token(settings) if settings.role != "serve" else None
    return RuntimeConfig(settings, bot, tuple(bindings), resolved, token)


def _needed_by_gateway(bot: Loaded[ChatBot]) -> Loaded[ChatBot]:
    """The bot as far as the gateway's secrets go: no model keys, no API token (engines check it), no
    plugin package index (engines install and load plugins)."""
    spec = bot.obj.spec
    routes = [route.model_copy(update={"api_key": None}) for route in spec.models.routes]
    models = spec.models.model_copy(update={"routes": routes})
    lean_spec = spec.model_copy(update={"models": models, "api": Api(), "plugins": []})
    lean = bot.obj.model_copy(update={"spec": lean_spec})
    return Loaded(lean, bot.source)


def _internal_token(settings: RuntimeSettings) -> str | None:
    path = settings.internal_token_file
    if path is None:
        return None
    try:
        token = path.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        raise ConfigError([f"PARLEY_INTERNAL_TOKEN_FILE: cannot read {path}: {reason}"]) from None
    if not token:
        raise ConfigError([f"PARLEY_INTERNAL_TOKEN_FILE: {path} is empty"])
    return token


def redis_url(cfg: RuntimeConfig) -> str | None:
    if cfg.settings.redis_url:
        return cfg.settings.redis_url
    if cfg.settings.redis_url_file is not None:
        try:
            return cfg.settings.redis_url_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                [f"PARLEY_REDIS_URL_FILE: cannot read {cfg.settings.redis_url_file}: {exc.strerror}"]
            ) from None
    redis = cfg.bot.obj.spec.redis
    return cfg.secrets.get(redis.url) if redis is not None else None
