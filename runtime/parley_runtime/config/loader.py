"""Reads multi-document YAML (the same files `kubectl apply` takes) into ChatBots and PlatformBindings."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from parley_runtime.config.errors import ConfigError, describe_validation_error
from parley_runtime.config.models import API_GROUP, ChatBot, ObjectMeta, PlatformBinding

T = TypeVar("T", bound=BaseModel)

_KINDS: dict[str, type[BaseModel]] = {"ChatBot": ChatBot, "PlatformBinding": PlatformBinding}


@dataclass(frozen=True)
class Loaded(Generic[T]):
    obj: T
    source: str  # the file it came from, for error messages


@dataclass(frozen=True)
class ManifestSet:
    bots: tuple[Loaded[ChatBot], ...]
    bindings: tuple[Loaded[PlatformBinding], ...]

    def bot(self, name: str | None = None) -> Loaded[ChatBot]:
        """The ChatBot to run: the named one, or the only one in the files."""
        if name is not None:
            for bot in self.bots:
                if bot.obj.name == name:
                    return bot
            raise ConfigError([f"no ChatBot named {name!r} in the given files"])
        if len(self.bots) != 1:
            found = ", ".join(b.obj.name for b in self.bots) or "none"
            raise ConfigError([f"expected exactly one ChatBot in the given files, found {found}; pick one"])
        return self.bots[0]

    def bindings_for(self, bot: str) -> list[Loaded[PlatformBinding]]:
        return [b for b in self.bindings if b.obj.spec.bot_ref.name == bot]


def parse_documents(text: str, source: str) -> list[tuple[int, dict[str, Any]]]:
    """Non-empty YAML documents of a file, numbered from 1; raises ConfigError on bad YAML."""
    try:
        docs = list(yaml.safe_load_all(text))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError([f"{source}: {where}invalid YAML: {problem}"]) from None
    out = []
    for index, doc in enumerate(docs, start=1):
        if doc is None:
            continue
        if not isinstance(doc, dict):
            raise ConfigError([f"{source}: document {index}: expected a mapping, got {type(doc).__name__}"])
        out.append((index, doc))
    return out


def load_documents(
    documents: Iterable[tuple[int, dict[str, Any]]], source: str
) -> tuple[list[Loaded[ChatBot]], list[Loaded[PlatformBinding]], list[str]]:
    """Validate parley.dev documents; other Kubernetes objects in the same file are skipped."""
    bots: list[Loaded[ChatBot]] = []
    bindings: list[Loaded[PlatformBinding]] = []
    problems: list[str] = []
    for index, doc in documents:
        api_version = str(doc.get("apiVersion", ""))
        if api_version.split("/")[0] != API_GROUP:
            continue
        kind = doc.get("kind")
        name = (
            (doc.get("metadata") or {}).get("name", f"document {index}")
            if isinstance(doc.get("metadata"), dict)
            else f"document {index}"
        )
        model = _KINDS.get(str(kind))
        if model is None:
            problems.append(f"{source}: {name}: unknown kind {kind!r} (expected ChatBot or PlatformBinding)")
            continue
        try:
            obj = model.model_validate(doc)
        except ValidationError as exc:
            problems.extend(describe_validation_error(f"{source}: {kind}/{name}", exc))
            continue
        if isinstance(obj, ChatBot):
            bots.append(Loaded(obj, source))
        elif isinstance(obj, PlatformBinding):
            bindings.append(Loaded(obj, source))
    return bots, bindings, problems


def load_manifests(paths: Iterable[str | Path]) -> ManifestSet:
    """Every ChatBot and PlatformBinding in the files; all problems raised together as ConfigError."""
    bots: list[Loaded[ChatBot]] = []
    bindings: list[Loaded[PlatformBinding]] = []
    problems: list[str] = []
    for path in paths:
        source = str(path)
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as exc:
            problems.append(f"{source}: cannot read: {exc.strerror or exc}")
            continue
        except UnicodeDecodeError:
            problems.append(f"{source}: not UTF-8 text")
            continue
        try:
            documents = parse_documents(text, source)
        except ConfigError as exc:
            problems.extend(exc.problems)
            continue
        b, pb, p = load_documents(documents, source)
        bots += b
        bindings += pb
        problems += p
    problems += _duplicates(bots, bindings)
    if problems:
        raise ConfigError(problems)
    return ManifestSet(tuple(bots), tuple(bindings))


def _duplicates(bots: list[Loaded[ChatBot]], bindings: list[Loaded[PlatformBinding]]) -> list[str]:
    seen: dict[tuple[str, str | None, str], str] = {}
    problems = []
    items: list[tuple[str, str, ObjectMeta]] = [(b.source, "ChatBot", b.obj.metadata) for b in bots]
    items += [(b.source, "PlatformBinding", b.obj.metadata) for b in bindings]
    for source, kind, meta in items:
        key = (kind, meta.namespace, meta.name)
        if key in seen:
            problems.append(f"{source}: {kind}/{meta.name}: defined twice (also in {seen[key]})")
        seen[key] = source
    return problems
