"""The chaos suite's figures: each test reports what it measured, and the run prints them at the end.

    def test_something(report: Report) -> None:
        ...
        report(acknowledged=30, answered=30, duplicated=0, lost=0, pending_at_kill=20)

The figures go to the terminal summary ("chaos figures", shown without `-s`) and to stdout (with
`-s`); docs/reliability.md quotes them.
"""

import pytest

from integration.chaos.helpers import Report

_FIGURES = pytest.StashKey[list[tuple[str, str]]]()


@pytest.fixture
def report(request: pytest.FixtureRequest) -> Report:
    def record(**figures: object) -> None:
        line = ", ".join(f"{name}={value}" for name, value in figures.items())
        print(f"\nchaos {request.node.name}: {line}")
        request.config.stash.setdefault(_FIGURES, []).append((request.node.name, line))

    return record


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    figures = config.stash.get(_FIGURES, [])
    if figures:
        terminalreporter.section("chaos figures")
        for name, line in figures:
            terminalreporter.write_line(f"{name}: {line}")
