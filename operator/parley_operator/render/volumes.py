"""Which Secrets a bot's pods mount, and the volumes and mounts for them and for the config.

Every Secret the manifest names is mounted whole at `/var/run/parley/secrets/<name>/`, which is the
layout `secretKeyRef {name, key}` resolves against (docs/concepts.md, "Secrets layout").
"""

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from parley_operator.render.meta import Names
from parley_runtime.config.models import ChatBot, PlatformBinding
from parley_runtime.config.secrets import DEFAULT_SECRETS_DIR, secret_refs

CONFIG_DIR = "/etc/parley/config"
ROUTES_DIR = "/etc/parley/routes"
DATA_DIR = "/var/lib/parley"
TMP_DIR = "/tmp"  # noqa: S108 - an emptyDir inside the pod, not a shared host directory
SECRETS_DIR = DEFAULT_SECRETS_DIR
SECRET_MODE = 0o440  # owner root, group fsGroup: readable by the runtime user, nobody else


def user_secret_names(bot: ChatBot, bindings: Sequence[PlatformBinding]) -> list[str]:
    """Names of the user's Secrets the bot and its bindings reference, sorted, each once."""
    names = {ref.secret_key_ref.name for _, ref in secret_refs(bot)}
    for binding in bindings:
        secret_ref = binding.spec.credentials.secret_ref
        if secret_ref is not None:
            names.add(secret_ref.name)
    return sorted(names)


def gateway_secret_names(bot: ChatBot, bindings: Sequence[PlatformBinding]) -> list[str]:
    """What the gateway reads: its bindings' credentials and the Redis URL, never model keys or the
    API token (it forwards chat requests and does not check the token itself)."""
    names = {
        b.spec.credentials.secret_ref.name for b in bindings if b.spec.credentials.secret_ref is not None
    }
    if bot.spec.redis is not None:
        names.add(bot.spec.redis.url.secret_key_ref.name)
    return sorted(names)


def secret_dir(name: str) -> str:
    return f"{SECRETS_DIR}/{name}"


def secret_volume_name(name: str) -> str:
    """A DNS label for the volume: `secret-<name>` when that is one, else a stable hash of the name."""
    candidate = f"secret-{name}"
    if len(candidate) <= 63 and re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", candidate):
        return candidate
    return "secret-" + hashlib.sha256(name.encode()).hexdigest()[:16]


def volumes(
    names: Names, secret_names: Sequence[str], *, with_routes: bool, config_map: str | None = None
) -> list[dict[str, Any]]:
    """`config_map`: the ConfigMap mounted as the config (the canary's own); default the bot's."""
    out: list[dict[str, Any]] = [
        {"name": "config", "configMap": {"name": config_map or names.config}},
        {"name": "data", "emptyDir": {}},
        {"name": "tmp", "emptyDir": {}},
    ]
    if with_routes:
        out.append({"name": "routes", "configMap": {"name": names.routes}})
    for secret in secret_names:
        out.append(
            {
                "name": secret_volume_name(secret),
                "secret": {"secretName": secret, "defaultMode": SECRET_MODE},
            }
        )
    return sorted(out, key=lambda v: str(v["name"]))


def mounts(secret_names: Sequence[str], *, with_routes: bool) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = [
        {"name": "config", "mountPath": CONFIG_DIR, "readOnly": True},
        {"name": "data", "mountPath": DATA_DIR},
        {"name": "tmp", "mountPath": TMP_DIR},
    ]
    if with_routes:
        out.append({"name": "routes", "mountPath": ROUTES_DIR, "readOnly": True})
    for secret in secret_names:
        out.append({"name": secret_volume_name(secret), "mountPath": secret_dir(secret), "readOnly": True})
    return sorted(out, key=lambda m: str(m["name"]))
