"""Resolves `secretKeyRef`s to files `<secrets-dir>/<name>/<key>` (how Kubernetes mounts a Secret)."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import Loaded
from parley_runtime.config.models import ChatBot, PlatformBinding, SecretValue
from parley_runtime.config.platforms import OPTIONAL_KEYS, REQUIRED_KEYS

DEFAULT_SECRETS_DIR = "/var/run/parley/secrets"


def read_secret(root: Path, name: str, key: str) -> str | None:
    """The value with one trailing newline removed (as `echo > file` leaves it), or None if absent."""
    path = root / name / key
    if ".." in (name, key) or "/" in name or "/" in key:
        return None
    try:
        value = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None
    return value[:-1] if value.endswith("\n") else value


@dataclass(frozen=True)
class Secrets:
    """Resolved secret values. The repr never shows them."""

    _values: Mapping[tuple[str, str], str] = field(repr=False)
    credentials: Mapping[str, Mapping[str, str]] = field(repr=False, default_factory=dict)

    def get(self, ref: SecretValue | None) -> str | None:
        if ref is None:
            return None
        return self._values.get((ref.secret_key_ref.name, ref.secret_key_ref.key))

    def values(self) -> list[str]:
        """All secret strings, so that log redaction knows what to hide."""
        creds = [v for c in self.credentials.values() for v in c.values()]
        return [*self._values.values(), *creds]


def secret_refs(bot: ChatBot) -> list[tuple[str, SecretValue]]:
    """(field path, ref) of every secret a ChatBot names."""
    refs: list[tuple[str, SecretValue]] = []
    for i, route in enumerate(bot.spec.models.routes):
        if route.api_key is not None:
            refs.append((f"spec.models.routes[{i}].apiKey", route.api_key))
    if bot.spec.redis is not None:
        refs.append(("spec.redis.url", bot.spec.redis.url))
    if bot.spec.api.token is not None:
        refs.append(("spec.api.token", bot.spec.api.token))
    for i, plugin in enumerate(bot.spec.plugins):
        if plugin.index is not None:
            refs.append((f"spec.plugins[{i}].index", plugin.index))
    for i, server in enumerate(bot.spec.mcp_servers):
        refs += [(f"spec.mcpServers[{i}].headers.{name}", ref) for name, ref in server.headers.items()]
        refs += [(f"spec.mcpServers[{i}].env.{name}", ref) for name, ref in server.env.items()]
    return refs


def resolve(
    bot: Loaded[ChatBot], bindings: list[Loaded[PlatformBinding]], root: Path, *, need_redis: bool = False
) -> Secrets:
    """Read every secret the bot and its bindings need; all missing ones raised together."""
    problems: list[str] = []
    values: dict[tuple[str, str], str] = {}
    prefix = f"{bot.source}: ChatBot/{bot.obj.name}"
    for path, ref in secret_refs(bot.obj):
        if path == "spec.redis.url" and not need_redis:
            continue
        sel = ref.secret_key_ref
        value = read_secret(root, sel.name, sel.key)
        if value is None:
            problems.append(f"{prefix}: {path}: secret {sel.name}/{sel.key} not found in {root}")
        else:
            values[(sel.name, sel.key)] = value
    credentials: dict[str, dict[str, str]] = {}
    for b in bindings:
        spec = b.obj.spec
        creds: dict[str, str] = {}
        cred_ref = spec.credentials.secret_ref
        if cred_ref is not None:
            for key in (*REQUIRED_KEYS[spec.platform], *OPTIONAL_KEYS.get(spec.platform, ())):
                value = read_secret(root, cred_ref.name, key)
                if value is not None:
                    creds[key] = value
                elif key in REQUIRED_KEYS[spec.platform]:
                    problems.append(
                        f"{b.source}: PlatformBinding/{b.obj.name}: spec.credentials.secretRef: "
                        f"secret {cred_ref.name} has no key {key} (in {root})"
                    )
        credentials[b.obj.name] = creds
    if problems:
        raise ConfigError(problems)
    return Secrets(values, credentials)
