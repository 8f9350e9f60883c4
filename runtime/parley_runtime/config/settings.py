"""Process settings that are not part of the manifest: ports, paths, role wiring (env `PARLEY_*`)."""

from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from parley_runtime.config.secrets import DEFAULT_SECRETS_DIR


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    config_files: tuple[Path, ...] = (Path("/etc/parley/bot.yaml"),)
    bot_name: str | None = None
    secrets_dir: Path = Path(DEFAULT_SECRETS_DIR)
    data_dir: Path = Path("./parley-data")
    plugins_dir: Path | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    role: Literal["serve", "gateway", "engine"] = "serve"
    track: Literal["stable", "canary"] = "stable"
    redis_url: str | None = None
    redis_url_file: Path | None = None  # a mounted Secret key, so the URL never sits in the pod spec
    internal_token_file: Path | None = None
    pod_name: str | None = None  # Lease holder identity in a cluster
    namespace: str | None = None
    route_file: Path | None = None  # gray-release weights written by the operator
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    hot_reload_plugins: bool = True
