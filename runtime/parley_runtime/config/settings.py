"""Process settings that are not part of the manifest: ports, paths, role wiring (env `PARLEY_*`)."""

from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from parley_runtime.config.secrets import DEFAULT_SECRETS_DIR


class RuntimeSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore", frozen=True)

    config_files: tuple[Path, ...] = (Path("/etc/parley/bot.yaml"),)
    bot_name: str | None = None
    secrets_dir: Path = Path(DEFAULT_SECRETS_DIR)
    data_dir: Path = Path("./parley-data")
    plugins_dir: Path | None = None
    # Plugin packages installed beforehand (the operator's init container); unset, `serve` and
    # `engine` install `spec.plugins[].package` into `.parley-plugins/` beside the manifest.
    plugin_packages_dir: Path | None = None
    host: str = "0.0.0.0"
    port: int = 8080
    role: Literal["serve", "gateway", "engine"] = "serve"
    track: Literal["stable", "canary"] = "stable"
    redis_url: str | None = None
    redis_url_file: Path | None = None  # a mounted Secret key, so the URL never sits in the pod spec
    internal_token_file: Path | None = None  # the gateway→engine token the operator generates
    pod_name: str | None = None  # Lease holder identity in a cluster
    namespace: str | None = None
    route_file: Path | None = None  # gray-release weights written by the operator
    log_level: str = "INFO"
    log_format: Literal["json", "text"] = "json"
    hot_reload_plugins: bool = True
    # Picture URLs callers of the chat API (or an HTTP binding) name are fetched only from public
    # addresses, never loopback, private, link-local or metadata ones (SSRF); true for tests and labs.
    media_private_urls: bool = False
    # Chat and webhook requests one process serves at once; past it they get 503 with Retry-After
    # instead of queueing without bound (docs/reliability.md). Far above what a healthy process sees.
    max_in_flight: Annotated[int, Field(ge=1, le=1_000_000)] = 1024
    # Cluster roles. The visibility timeout is how long an unacknowledged message waits before another
    # engine re-claims it (a crashed engine's in-flight work); tests shorten it to about a second.
    queue_visibility_timeout: Annotated[float, Field(gt=0, le=3600)] = 30.0
    outbox_interval: Annotated[float, Field(gt=0, le=3600)] = 10.0  # how often engines drain replays
    # Where the gateway forwards `POST /api/v1/chat`; default http://<bot>-engine[-canary]:8080.
    engine_url_stable: str | None = None
    engine_url_canary: str | None = None
    # The Kubernetes API for Leases: in-cluster by default; a plain http URL (no token) for tests.
    kube_api_url: str | None = None
    lease_duration: Annotated[float, Field(ge=1, le=3600)] = 15.0
