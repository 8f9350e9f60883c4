"""Reads multi-document YAML (the same files `kubectl apply` takes) into ChatBots and PlatformBindings.

Every manifest is read within limits (docs/reliability.md), checked while the YAML is composed,
before anything is expanded or built: at most `MAX_FILE_BYTES`, nesting at most `MAX_DEPTH` levels (aliases
included), aliases adding at most `MAX_ALIAS_NODES` nodes to the file, no key twice in a mapping,
and at least one ChatBot or PlatformBinding. Crossing one is a ConfigError of one line.
"""

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from yaml.composer import Composer
from yaml.constructor import SafeConstructor
from yaml.events import AliasEvent, Event
from yaml.nodes import MappingNode, Node, ScalarNode
from yaml.parser import Parser
from yaml.reader import Reader
from yaml.resolver import Resolver
from yaml.scanner import Scanner

from parley_runtime.config.errors import ConfigError, describe_validation_error
from parley_runtime.config.models import API_GROUP, GROUP_VERSION, ChatBot, ObjectMeta, PlatformBinding

MAX_FILE_BYTES = 5 * 1024 * 1024
MAX_DEPTH = 64
MAX_ALIAS_NODES = 10_000
MAX_ALIAS_CHARS = MAX_FILE_BYTES  # scalar text repeated through aliases: at most one file's worth

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


def read_manifest(path: str | Path) -> list[tuple[int, dict[str, Any]]]:
    """The documents of one manifest file, within the limits; raises ConfigError with one line.

    The one reader behind `validate`, `render`, `serve` and `dlq`. The size is checked on the bytes
    read, so a huge file (or an endless pipe) is refused after reading one byte past the limit.
    """
    source = str(path)
    try:
        with Path(path).open("rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ConfigError([f"{source}: cannot read: {exc.strerror or exc}"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{source}: {_TOO_LARGE}"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError([f"{source}: not UTF-8 text"]) from None
    documents = parse_documents(text, source)
    if not any(str(doc.get("apiVersion", "")).split("/")[0] == API_GROUP for _, doc in documents):
        raise ConfigError(
            [f"{source}: no ChatBot or PlatformBinding (apiVersion: {GROUP_VERSION}) in the file"]
        )
    return documents


def parse_documents(text: str, source: str) -> list[tuple[int, dict[str, Any]]]:
    """Non-empty YAML documents of a file, numbered from 1; raises ConfigError on bad YAML or a limit."""
    if len(text) > MAX_FILE_BYTES:  # characters: a cheap bound; `read_manifest` counts bytes
        raise ConfigError([f"{source}: {_TOO_LARGE}"])
    try:
        docs = _load_all(text)
    except _Refused as exc:
        where = f"line {exc.line}: " if exc.line is not None else ""
        raise ConfigError([f"{source}: {where}{exc}"]) from None
    except RecursionError:  # unreachable within MAX_DEPTH; kept so no traceback can ever escape
        raise ConfigError([f"{source}: nesting too deep to read"]) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        if problem == "exceeded maximum nesting depth":  # libyaml's own cap (1000) met while scanning
            raise ConfigError([f"{source}: {where}nesting deeper than {MAX_DEPTH} levels"]) from None
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
            documents = read_manifest(path)
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


def _mib(size: int) -> str:
    return f"{size / (1024 * 1024):g} MiB"


_TOO_LARGE = f"larger than the {_mib(MAX_FILE_BYTES)} limit for a manifest"

_Shape = tuple[int, int, int]  # nodes and scalar characters in a node's expansion, and its height


class _Refused(Exception):
    """A limit crossed while composing: the message, and the line where it happened."""

    def __init__(self, message: str, node_or_event: Node | Event) -> None:
        super().__init__(message)
        mark = node_or_event.start_mark
        self.line = mark.line + 1 if mark is not None else None


class _Events(Protocol):
    def check_event(self, *choices: type[Event]) -> bool: ...
    def peek_event(self) -> Any: ...
    def get_event(self) -> Any: ...
    def dispose(self) -> None: ...


class _PyParser(Reader, Scanner, Parser):
    """PyYAML's pure-Python event parser, for where libyaml is not compiled in."""

    def __init__(self, text: str) -> None:
        Reader.__init__(self, text)
        Scanner.__init__(self)
        Parser.__init__(self)


def _event_source(text: str) -> _Events:
    if yaml.__with_libyaml__:
        from yaml._yaml import CParser  # importable only where PyYAML was built with libyaml

        return CParser(text)
    return _PyParser(text)


class _BoundedLoader(Composer, SafeConstructor, Resolver):
    """PyYAML's safe loader with the limits checked while the node graph is composed.

    Events come from libyaml when present (its parser keeps no recursion on the C stack) or from
    PyYAML's parser; composition is PyYAML's, wrapped in `compose_node` so each node's expanded
    size and height are known once it is composed. An alias adds its target's expanded size to a
    running count, so a billion laughs is refused after a few thousand steps, not after expansion.
    """

    def __init__(self, text: str) -> None:
        Composer.__init__(self)
        SafeConstructor.__init__(self)
        Resolver.__init__(self)
        self._events = _event_source(text)
        self._open: list[list[int]] = []  # per node being composed: nodes, characters, tallest child
        self._shapes: dict[int, tuple[Node, _Shape]] = {}  # anchored nodes of this document, by id
        self._aliased_nodes = 0
        self._aliased_chars = 0

    def check_event(self, *choices: type[Event]) -> bool:
        return self._events.check_event(*choices)

    def peek_event(self) -> Any:
        return self._events.peek_event()

    def get_event(self) -> Any:
        return self._events.get_event()

    def dispose(self) -> None:
        self._events.dispose()

    def compose_document(self) -> Node | None:
        self._shapes = {}
        return super().compose_document()

    def compose_node(self, parent: Node | None, index: Any) -> Node | None:
        event = self.peek_event()
        if isinstance(event, AliasEvent):
            target = self.anchors.get(event.anchor)
            if target is not None:  # an undefined alias is left to PyYAML's own error
                self._add(self._alias_shape(event, target))
            return super().compose_node(parent, index)
        if len(self._open) >= MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels", event)
        self._open.append([1, 0, 0])
        node = super().compose_node(parent, index)
        nodes, chars, tallest = self._open.pop()
        if isinstance(node, ScalarNode):
            chars += len(node.value)
        shape = (nodes, chars, tallest + 1)
        if node is not None and event.anchor is not None:
            self._shapes[id(node)] = (node, shape)
        self._add(shape)
        return node

    def _alias_shape(self, event: AliasEvent, target: Node) -> _Shape:
        known = self._shapes.get(id(target))
        if known is None:  # the anchored node is still being composed: the alias is inside it
            raise _Refused(f"alias *{event.anchor} is inside the node it refers to", event)
        nodes, chars, height = known[1]
        self._aliased_nodes += nodes
        self._aliased_chars += chars
        if self._aliased_nodes > MAX_ALIAS_NODES:
            raise _Refused(f"YAML aliases expand to more than {MAX_ALIAS_NODES} nodes", event)
        if self._aliased_chars > MAX_ALIAS_CHARS:
            raise _Refused(f"YAML aliases repeat more than {_mib(MAX_ALIAS_CHARS)} of text", event)
        if len(self._open) + height > MAX_DEPTH:
            raise _Refused(f"nesting deeper than {MAX_DEPTH} levels through alias *{event.anchor}", event)
        return known[1]

    def _add(self, shape: _Shape) -> None:
        if self._open:
            into = self._open[-1]
            into[0] += shape[0]
            into[1] += shape[1]
            into[2] = max(into[2], shape[2])

    def construct_mapping(self, node: MappingNode, deep: bool = False) -> dict[Hashable, Any]:
        if isinstance(node, MappingNode):
            self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicate_keys(self, node: MappingNode) -> None:
        first: dict[Any, Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":  # `<<: *base` may be overridden on purpose
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                earlier = first.setdefault(key, key_node)
            except TypeError:  # an unhashable key: PyYAML's own error follows
                continue
            if earlier is not key_node:
                shown = repr(key) if len(repr(key)) <= 60 else repr(key)[:57] + "..."
                at = f" (first on line {earlier.start_mark.line + 1})" if earlier.start_mark else ""
                raise _Refused(f"duplicate key {shown}{at}", key_node)


def _load_all(text: str) -> list[Any]:
    loader = _BoundedLoader(text)
    try:
        docs = []
        while loader.check_node():  # as `check_data`/`get_data`, which the stubs leave untyped
            docs.append(loader.get_data())
        return docs
    finally:
        loader.dispose()
