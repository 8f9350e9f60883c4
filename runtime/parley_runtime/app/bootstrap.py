"""Turns command-line arguments and environment into a validated `RuntimeConfig` (or ConfigError)."""

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from parley_runtime.config import loader, secrets
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import Loaded
from parley_runtime.config.models import ChatBot, PlatformBinding
from parley_runtime.config.settings import RuntimeSettings


@dataclass(frozen=True)
class RuntimeConfig:
    settings: RuntimeSettings
    bot: Loaded[ChatBot]
    bindings: tuple[Loaded[PlatformBinding], ...]
    secrets: secrets.Secrets

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
    return RuntimeSettings(**overrides)


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
    resolved = secrets.resolve(bot, bindings, Path(settings.secrets_dir), need_redis=need_redis)
    return RuntimeConfig(settings, bot, tuple(bindings), resolved)


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
