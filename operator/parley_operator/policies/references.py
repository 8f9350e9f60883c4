"""Do the Secrets a bot and its bindings name exist, with the keys their platforms require
(docs/platforms/*.md, "Secret")?

Only key NAMES are ever compared: the values are not part of `Observed` at all.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from parley_runtime.config import platforms
from parley_runtime.config.models import ChatBot, PlatformBinding, SecretValue
from parley_runtime.config.secrets import secret_refs

SecretKeys = Mapping[str, frozenset[str] | None]


@dataclass(frozen=True)
class BindingCheck:
    """Why a binding's credentials do not resolve; `ok` when they do."""

    secret: str | None
    secret_found: bool
    missing_keys: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return self.secret_found and not self.missing_keys

    def message(self) -> str:
        if not self.secret_found:
            return f"Secret {self.secret} not found"
        return f"Secret {self.secret} lacks required keys: {', '.join(self.missing_keys)}"


def _refs(bot: ChatBot) -> list[tuple[str, SecretValue]]:
    """(field path, ref) of every secret the bot names, its canary's model keys included."""
    refs = secret_refs(bot)
    canary = bot.spec.canary
    if canary is not None and canary.models is not None:
        for i, route in enumerate(canary.models.routes):
            if route.api_key is not None:
                refs.append((f"spec.canary.models.routes[{i}].apiKey", route.api_key))
    return refs


def secret_names(bot: ChatBot | None, bindings: Iterable[PlatformBinding]) -> list[str]:
    """Every Secret to look at, sorted, each once."""
    names = {ref.secret_key_ref.name for _, ref in _refs(bot)} if bot is not None else set()
    for binding in bindings:
        if binding.spec.credentials.secret_ref is not None:
            names.add(binding.spec.credentials.secret_ref.name)
    return sorted(names)


def check_binding(binding: PlatformBinding, keys: SecretKeys) -> BindingCheck:
    ref = binding.spec.credentials.secret_ref
    required = platforms.REQUIRED_KEYS[binding.spec.platform]
    if ref is None:
        return BindingCheck(None, True, ())
    present = keys.get(ref.name)
    if present is None:
        return BindingCheck(ref.name, False, tuple(required))
    return BindingCheck(ref.name, True, tuple(k for k in required if k not in present))


def bot_problems(bot: ChatBot, keys: SecretKeys) -> list[str]:
    """One line per `secretKeyRef` of the ChatBot that does not resolve."""
    problems = []
    for path, value in _refs(bot):
        ref = value.secret_key_ref
        present = keys.get(ref.name)
        if present is None:
            problems.append(f"{path}: Secret {ref.name} not found")
        elif ref.key not in present:
            problems.append(f"{path}: Secret {ref.name} has no key {ref.key}")
    return problems
