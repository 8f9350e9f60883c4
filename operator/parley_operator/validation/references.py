"""Rules across objects: a binding's bot exists (same namespace), names and webhook paths are unique."""

from collections.abc import Sequence, Set

from parley_operator.validation.problems import Problem
from parley_runtime.config.loader import Loaded
from parley_runtime.config.models import ChatBot, PlatformBinding


def _ns(namespace: str | None) -> str:
    return namespace or ""


def reference_problems(
    bots: Sequence[Loaded[ChatBot]],
    bindings: Sequence[Loaded[PlatformBinding]],
    known_bots: Set[tuple[str, str]] = frozenset(),
) -> list[Problem]:
    """`known_bots` are (namespace, name) of ChatBots that failed validation: they still exist."""
    problems: list[Problem] = []
    seen_bots: dict[tuple[str, str], str] = {}
    for bot in bots:
        key = (_ns(bot.obj.metadata.namespace), bot.obj.name)
        if key in seen_bots:
            problems.append(
                Problem(
                    bot.source, f"ChatBot/{bot.obj.name}", "", f"defined twice (also in {seen_bots[key]})"
                )
            )
        seen_bots.setdefault(key, bot.source)
    paths: dict[tuple[str, str], str] = {}
    for binding in bindings:
        spec, meta = binding.obj.spec, binding.obj.metadata
        subject = f"PlatformBinding/{meta.name}"
        if (_ns(meta.namespace), spec.bot_ref.name) not in seen_bots.keys() | known_bots:
            where = f"namespace {meta.namespace}" if meta.namespace else "the same namespace"
            problems.append(
                Problem(
                    binding.source,
                    subject,
                    "spec.botRef.name",
                    f"no ChatBot named {spec.bot_ref.name} in {where} in the given files",
                )
            )
        webhook = f"/webhook/{spec.platform}/{meta.name}"
        key = (_ns(meta.namespace), webhook)
        if key in paths:
            problems.append(
                Problem(
                    binding.source,
                    subject,
                    "metadata.name",
                    f"webhook path {webhook} is also used in {paths[key]}",
                )
            )
        paths.setdefault(key, binding.source)
    return problems
