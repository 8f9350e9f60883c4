"""Hostile manifests through the installed `parley` command (SPEC §3, §15): exit 2, one line naming
the file, no traceback, and bounded memory. Each process runs under a 1 GiB address-space limit; the
unbounded reader needed 2-3.6 GB for the billion laughs. The timeout only keeps a regression from
hanging the suite; speed is not asserted.
"""

import resource
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from factories import chatbot_doc, dump_yaml

ROOT = Path(__file__).parents[3]
EXAMPLES = sorted((ROOT / "manifests" / "examples").glob("*.yaml"))
_SCRIPT = Path(sys.executable).with_name("parley")
PARLEY = [str(_SCRIPT)] if _SCRIPT.exists() else [sys.executable, "-m", "parley_runtime.cli"]
MEMORY = 1024 * 1024 * 1024


def _bounded() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*PARLEY, *args], capture_output=True, text=True, timeout=30, preexec_fn=_bounded, cwd=tmp_path
    )


def billion_laughs() -> str:
    lines = [
        dump_yaml(chatbot_doc()).rstrip("\n"),
        "  plugins:",
        "  - name: lol",
        "    config:",
        '      l0: &l0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
    ]
    lines += [f"      l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def six_mib() -> str:
    line = "# " + "x" * 98 + "\n"
    return dump_yaml(chatbot_doc()) + line * (6 * 1024 * 1024 // len(line))


CONFIGMAP = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {a: b}\n"
DUPLICATE = "apiVersion: parley.dev/v1alpha1\nkind: ChatBot\nmetadata:\n  name: a\n  name: b\nspec: {}\n"

HOSTILE: dict[str, tuple[Callable[[], str], str]] = {
    "billion-laughs": (billion_laughs, "YAML aliases expand to more than 10000 nodes"),
    "brackets": (lambda: "[" * 50_000 + "]" * 50_000 + "\n", "line 1: nesting deeper than 64 levels"),
    "empty": (lambda: "", "no ChatBot or PlatformBinding"),
    "configmap-only": (lambda: CONFIGMAP, "no ChatBot or PlatformBinding"),
    "duplicate-key": (lambda: DUPLICATE, "line 5: duplicate key 'name' (first on line 4)"),
    "six-mib": (six_mib, "larger than the 5 MiB limit for a manifest"),
}
CASES = [
    *[pytest.param(cmd, name, id=f"{cmd}-{name}") for cmd in ("validate", "render") for name in HOSTILE],
    *[pytest.param("serve", name, id=f"serve-{name}") for name in ("billion-laughs", "brackets", "empty")],
]


@pytest.mark.parametrize(("command", "case"), CASES)
def test_hostile_manifest_is_one_line_and_exit_2(tmp_path: Path, command: str, case: str) -> None:
    make, expected = HOSTILE[case]
    path = tmp_path / f"{case}.yaml"
    path.write_text(make(), encoding="utf-8")
    extra = ["--data-dir", str(tmp_path / "data"), "--port", "0"] if command == "serve" else []
    result = run(command, "-f", str(path), *extra, tmp_path=tmp_path)
    assert result.returncode == 2, result.stderr[-2000:]
    assert result.stdout == ""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr[-2000:]
    assert str(path) in lines[0] and expected in lines[0]
    assert "Traceback" not in result.stderr


def test_examples_still_validate(tmp_path: Path) -> None:
    args = [arg for path in EXAMPLES for arg in ("-f", str(path))]
    result = run("validate", *args, tmp_path=tmp_path)
    assert result.returncode == 0
    # Only notes (the examples' folder plugin cannot be checked here), never a problem line.
    assert all(line.startswith("note: ") for line in result.stderr.splitlines()), result.stderr
    assert result.stdout.startswith("ok: ")


@pytest.mark.parametrize(
    ("argv", "line"),
    [
        (["validate", "-f", "x.yaml", "--bogus"], "parley: error: unrecognized arguments: --bogus"),
        (["validate"], "parley: error: validate: the following arguments are required: -f/--file"),
        (["--bogus"], "parley: error: the following arguments are required: command"),
        (
            ["track", "--bot", "b", "--platform", "p", "--user", "u", "--weight", "200"],
            "parley: error: track: --weight must be between 0 and 100",
        ),
    ],
    ids=["unknown-flag", "missing-file-flag", "no-command", "bad-weight"],
)
def test_bad_flags_get_a_single_prefix(tmp_path: Path, argv: list[str], line: str) -> None:
    result = run(*argv, tmp_path=tmp_path)
    assert result.returncode == 2
    assert result.stderr == line + "\n"
    assert result.stderr.count("parley") == 1
