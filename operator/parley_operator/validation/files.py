"""Reads the files `parley validate` is given; every failure becomes a Problem, never an exception."""

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from parley_operator.validation.documents import Checker, Collected
from parley_operator.validation.plugins import plugin_findings
from parley_operator.validation.problems import Problem
from parley_operator.validation.references import reference_problems
from parley_runtime.config.errors import ConfigError
from parley_runtime.config.loader import read_manifest


@dataclass(frozen=True)
class Report:
    problems: tuple[Problem, ...]
    objects: int
    files: int
    notes: tuple[Problem, ...] = ()  # what could not be checked here (a plugin not installed), and why


def validate_files(paths: Sequence[Path]) -> Report:
    checker = Checker()
    collected = Collected()
    for path in paths:
        source = str(path)
        try:
            documents = read_manifest(path)  # the runtime's reader, limits included (docs/reliability.md)
        except ConfigError as exc:
            collected.problems += [
                Problem(source, "", "", line.removeprefix(f"{source}: ")) for line in exc.problems
            ]
            continue
        checker.check(documents, source, collected)
    collected.problems += reference_problems(collected.bots, collected.bindings, collected.bot_names)
    plugin_errors, notes = plugin_findings(collected.bots)
    collected.problems += plugin_errors
    return Report(tuple(collected.problems), collected.objects, len(paths), tuple(notes))
