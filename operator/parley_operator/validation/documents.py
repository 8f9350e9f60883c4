"""Validates parsed documents: CRD schema, then CEL rules, then the pydantic models.

A document that fails the schema or a CEL rule is not also run through pydantic, which would mostly
report the same problem a second time.
"""

from dataclasses import dataclass, field
from typing import Any

from parley_operator.schema import crd
from parley_operator.validation import cel, openapi_check
from parley_operator.validation.problems import Problem
from parley_runtime.config.loader import Loaded, load_documents
from parley_runtime.config.models import API_GROUP, GROUP_VERSION, ChatBot, PlatformBinding

KINDS = ("ChatBot", "PlatformBinding")


@dataclass
class Collected:
    """Everything valid seen so far, and every problem."""

    bots: list[Loaded[ChatBot]] = field(default_factory=list)
    bindings: list[Loaded[PlatformBinding]] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    objects: int = 0
    bot_names: set[tuple[str, str]] = field(default_factory=set)  # (namespace, name), valid or not


class Checker:
    """Holds the generated CRD schemas, built once per run."""

    def __init__(self) -> None:
        self._schemas = {
            kind: crd.crd_for(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"] for kind in KINDS
        }

    def check(self, documents: list[tuple[int, dict[str, Any]]], source: str, into: Collected) -> None:
        for index, doc in documents:
            if str(doc.get("apiVersion", "")).split("/")[0] != API_GROUP:
                continue
            into.objects += 1
            subject = _subject(doc, index)
            if subject.startswith("ChatBot/"):
                meta = doc.get("metadata")
                namespace = meta.get("namespace") if isinstance(meta, dict) else None
                into.bot_names.add((str(namespace or ""), subject.removeprefix("ChatBot/")))
            problems = self._crd_problems(doc, source, subject)
            if problems:
                into.problems += problems
                continue
            bots, bindings, lines = load_documents([(index, doc)], source)
            into.bots += bots
            into.bindings += bindings
            into.problems += [_from_line(line, source, subject) for line in lines]

    def _crd_problems(self, doc: dict[str, Any], source: str, subject: str) -> list[Problem]:
        kind = doc.get("kind")
        if doc.get("apiVersion") != GROUP_VERSION:
            return [Problem(source, subject, "apiVersion", f"unknown version (expected {GROUP_VERSION})")]
        if not isinstance(kind, str) or kind not in self._schemas:
            return [Problem(source, subject, "kind", "unknown kind (expected ChatBot or PlatformBinding)")]
        schema = self._schemas[kind]
        found = [Problem(source, subject, p, m) for p, m in openapi_check.schema_errors(schema, doc)]
        if not found:
            defaulted = openapi_check.with_defaults(schema, doc)
            found = [Problem(source, subject, p, m) for p, m in cel.rule_errors(schema, defaulted)]
        return found


def _subject(doc: dict[str, Any], index: int) -> str:
    meta = doc.get("metadata")
    name = meta.get("name") if isinstance(meta, dict) else None
    kind = doc.get("kind") if isinstance(doc.get("kind"), str) else "Object"
    return f"{kind}/{name}" if isinstance(name, str) and name else f"{kind}/(document {index})"


def _from_line(line: str, source: str, subject: str) -> Problem:
    """The loader's `FILE: Kind/name: path: message` line, back into its parts."""
    rest = line.removeprefix(f"{source}: ").removeprefix(f"{subject}: ")
    path, sep, message = rest.partition(": ")
    return Problem(source, subject, path, message) if sep else Problem(source, subject, "", rest)
