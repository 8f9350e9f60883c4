"""The images' install steps, replayed without Docker: the build stage's `pip wheel`, then the final
stage's pip-less virtualenv and offline install, exactly as the Dockerfiles spell them (parsed, with
/wheels, /opt/parley and ${VERSION} mapped to temporary paths). Then the entrypoint runs: `--help`
for both images, and `serve` with the quick start under the image's environment, writing only to its
data dir. Dependencies come from the package index through pip's cache, as the build stage fetches
them; the test skips only when the index cannot be reached."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from fakes.ports import free_port
from unit.packaging.dockerfile_facts import (
    ROOT,
    exec_form,
    final_stage,
    healthcheck,
    install_commands,
    parse,
    project_version,
    stages,
    values,
)

OFFLINE_SIGNS = ("NewConnectionError", "Temporary failure in name resolution", "Network is unreachable")
Completed = subprocess.CompletedProcess[str]
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", ".mypy_cache")


@dataclass(frozen=True)
class Installed:
    venv: Path
    env: dict[str, str]


def _run(argv: list[str], *, cwd: Path | None = None, env: dict[str, str] | None = None) -> Completed:
    return subprocess.run(argv, capture_output=True, text=True, timeout=240, check=False, cwd=cwd, env=env)


def _copy_build_context(dest: Path) -> None:
    """The build stage's COPY instructions, applied to a temporary source tree (its WORKDIR)."""
    for value in values(stages(parse("Dockerfile.runtime"))[0], "COPY"):
        *sources, target = value.split()
        for source in sources:
            src = ROOT / source
            if src.is_dir():
                shutil.copytree(src, dest / target, ignore=IGNORED)
            else:
                shutil.copy2(src, dest / target / src.name)


def _steps(value: str) -> list[list[str]]:
    """A RUN instruction's `&&`-joined commands as argv lists, BuildKit `--mount` flags dropped."""
    body = re.sub(r"^(--\S+\s+)+", "", value)
    return [shlex.split(part) for part in body.split("&&")]


def _replay(argv: list[str], mapping: dict[str, str]) -> list[str]:
    out = []
    for arg in argv:
        for old, new in mapping.items():
            arg = arg.replace(old, new)
        out.append(arg)
    if out[:3] == ["python", "-m", "venv"]:
        return [sys.executable, *out[1:]]
    if out[:1] == ["pip"]:
        return [sys.executable, "-m", "pip", *out[1:]]
    raise AssertionError(f"unexpected install step {argv}")


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    work = tmp_path_factory.mktemp("image")
    src, wheels, venv = work / "src", work / "wheels", work / "opt-parley"
    src.mkdir()
    _copy_build_context(src)
    [build] = [v for v in values(stages(parse("Dockerfile.runtime"))[0], "RUN") if "pip wheel" in v]
    [wheel_argv] = _steps(build)
    built = _run(_replay(wheel_argv, {"/wheels": str(wheels)}), cwd=src)
    if built.returncode != 0 and any(sign in built.stderr for sign in OFFLINE_SIGNS):
        pytest.skip("the package index is unreachable, so the wheels stage cannot fetch dependencies")
    assert built.returncode == 0, built.stderr[-2000:]
    mapping = {"/wheels": str(wheels), "/opt/parley": str(venv), "${VERSION}": project_version()}
    for argv in install_commands(parse("Dockerfile.runtime")):
        done = _run(_replay(argv, mapping))
        assert done.returncode == 0, done.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PARLEY_", "VIRTUAL_ENV", "PYTHON"))}
    image_env = parse("Dockerfile.runtime").envs
    env.update({k: v for k, v in image_env.items() if k != "PATH"})
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"
    env["HOME"] = str(work / "tmp")
    env["TMPDIR"] = str(work / "tmp")
    env["PARLEY_DATA_DIR"] = str(work / "data")
    (work / "tmp").mkdir()
    (work / "data").mkdir()
    yield Installed(venv, env)


def _snapshot(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


def test_wheels_stage_builds_parley_and_its_dependencies_only_from_the_tree(installed: Installed) -> None:
    wheels = installed.venv.parent / "wheels"
    names = {p.name.split("-")[0].lower() for p in wheels.glob("*.whl")}
    assert f"parley-{project_version()}-py3-none-any.whl" in {p.name for p in wheels.glob("parley-*.whl")}
    for dependency in ("fastapi", "uvicorn", "kopf", "httpx", "pydantic"):
        assert dependency in names
    # The final virtualenv is pip-less: nothing can be installed into the image at run time.
    assert not (installed.venv / "bin" / "pip").exists()


@pytest.mark.parametrize("dockerfile", ["Dockerfile.runtime", "Dockerfile.operator"])
def test_entrypoint_help(installed: Installed, dockerfile: str) -> None:
    parser = parse(dockerfile)
    [entrypoint] = values(final_stage(parser), "ENTRYPOINT")
    argv = [*exec_form(entrypoint), *exec_form(parser.cmd), "--help"]
    done = _run(argv, env=installed.env)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"usage: parley {exec_form(parser.cmd)[0]}")


def test_serve_answers_health_and_writes_only_to_its_data_dir(installed: Installed) -> None:
    parser = parse("Dockerfile.runtime")
    [entrypoint] = values(final_stage(parser), "ENTRYPOINT")
    port = free_port()
    env = {**installed.env, "PARLEY_PORT": str(port), "PARLEY_HOST": "127.0.0.1"}
    before = _snapshot(installed.venv)
    cwd = Path(env["PARLEY_DATA_DIR"])  # the image's WORKDIR is its data dir
    argv = [*exec_form(entrypoint), "serve", "-f", str(ROOT / "manifests/examples/quickstart.yaml")]
    proc = subprocess.Popen(
        argv, env=env, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        health = _wait_for_health(port, proc)
        assert health.json() == {"status": "OK"}
        page = httpx.get(
            f"http://127.0.0.1:{port}/", timeout=5
        )  # the web chat page: package data is in the wheel
        assert page.status_code == 200 and "<html" in page.text.lower()
        reply = httpx.post(f"http://127.0.0.1:{port}/api/v1/chat", json={"message": "hi"}, timeout=10)
        assert reply.json()["reply"] == "echo: hi"
        check = _run(healthcheck(parser), env=env)
        assert check.returncode == 0, check.stderr
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=30)
    assert _snapshot(installed.venv) == before  # no bytecode or state written next to the code
    assert any(p.name.startswith("parley.sqlite3") for p in cwd.iterdir()), output


def test_healthcheck_fails_when_nothing_listens(installed: Installed) -> None:
    env = {**installed.env, "PARLEY_PORT": str(free_port())}
    check = _run(healthcheck(parse("Dockerfile.runtime")), env=env)
    assert check.returncode != 0


def _wait_for_health(port: int, proc: subprocess.Popen[str]) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(
                f"parley serve exited {proc.returncode}: {proc.stdout.read() if proc.stdout else ''}"
            )
        try:
            return httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError("parley serve did not answer /health within 60 s")
