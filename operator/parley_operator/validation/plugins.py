"""Plugin config checked against each plugin's own config model, where the plugin can be imported.

The operator never imports the runtime's plugin layer (.importlinter): the check comes in through
the `parley.manifest_checks` entry points, which the runtime's distribution declares — the mirror of
how the runtime's CLI finds `render` and `validate`. A check gives `(severity, path, message)`
findings: errors fail the command; notes only say what could not be checked here and why.
"""

from collections.abc import Callable, Sequence
from importlib.metadata import entry_points

from parley_operator.validation.problems import Problem
from parley_runtime.config.loader import Loaded
from parley_runtime.config.models import ChatBot

GROUP = "parley.manifest_checks"

Check = Callable[[ChatBot, str], list[tuple[str, str, str]]]


def plugin_findings(bots: Sequence[Loaded[ChatBot]]) -> tuple[list[Problem], list[Problem]]:
    """(errors, notes) over every ChatBot that lists plugins."""
    listing = [b for b in bots if b.obj.spec.plugins]
    if not listing:
        return [], []
    checks: list[Check] = [ep.load() for ep in entry_points(group=GROUP)]
    errors: list[Problem] = []
    notes: list[Problem] = []
    for loaded in listing:
        subject = f"ChatBot/{loaded.obj.name}"
        if not checks:
            path = "spec.plugins"
            notes.append(Problem(loaded.source, subject, path, "config not checked: no plugin support here"))
        for check in checks:
            for severity, path, message in check(loaded.obj, loaded.source):
                problem = Problem(loaded.source, subject, path, message)
                (errors if severity == "error" else notes).append(problem)
    return errors, notes
