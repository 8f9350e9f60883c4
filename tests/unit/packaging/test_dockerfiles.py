"""Both Dockerfiles, read with dockerfile-parse: the image rules of issue 6 hold line by line."""

import fnmatch

import pytest

from parley_operator.render import security
from unit.packaging.dockerfile_facts import (
    DOCKERFILES,
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

BUILD_TOOLS = ("gcc", "g++", "build-essential", "apt-get", "apk add", "make ", "git ")
OCI_LABELS = ("title", "description", "source", "licenses", "version", "revision")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_two_stages_wheels_then_slim_python(name: str) -> None:
    parser = parse(name)
    build, final = stages(parser)
    assert parser.parent_images == ["python:3.11-slim-bookworm", "python:3.11-slim-bookworm"]
    assert any("pip wheel --wheel-dir /wheels ." in v for v in values(build, "RUN"))
    # The wheels reach the final stage through a bind mount, never a COPY layer.
    assert not values(final, "COPY") and not values(final, "ADD")
    [install] = [v for v in values(final, "RUN") if "venv" in v]
    assert install.startswith("--mount=type=bind,from=wheels,source=/wheels,target=/wheels")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_final_stage_has_no_build_tools_or_caches(name: str) -> None:
    for run in values(final_stage(parse(name)), "RUN"):
        for tool in BUILD_TOOLS:
            assert tool not in run, (name, tool)
    [venv, pip] = install_commands(parse(name))
    assert "--without-pip" in venv  # no pip left in the image's virtualenv
    assert "--no-cache-dir" in pip and "--no-index" in pip


@pytest.mark.parametrize("name", DOCKERFILES)
def test_runs_as_the_numeric_uid_the_pods_use(name: str) -> None:
    [user] = values(final_stage(parse(name)), "USER")
    assert user == f"{security.RUN_AS}:{security.RUN_AS}"
    last = final_stage(parse(name))[-1]
    assert last["instruction"] in {"CMD", "ENTRYPOINT"}


@pytest.mark.parametrize("name", DOCKERFILES)
def test_environment_is_ready_for_a_read_only_root(name: str) -> None:
    envs = parse(name).envs
    assert envs["PYTHONDONTWRITEBYTECODE"] == "1"
    assert envs["PYTHONUNBUFFERED"] == "1"
    assert envs["HOME"] == "/tmp"
    assert envs["PATH"].startswith("/opt/parley/bin:")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_oci_labels_and_version_match_the_project(name: str) -> None:
    parser = parse(name)
    assert parser.args["VERSION"] == project_version()
    labels = parser.labels
    for key in OCI_LABELS:
        assert labels[f"org.opencontainers.image.{key}"], key
    assert labels["org.opencontainers.image.version"] == project_version()
    assert labels["org.opencontainers.image.title"] == name.replace("Dockerfile.", "parley-")


@pytest.mark.parametrize("name", DOCKERFILES)
def test_entrypoint_is_parley_and_healthcheck_is_exec_form_python(name: str) -> None:
    parser = parse(name)
    [entrypoint] = values(final_stage(parser), "ENTRYPOINT")
    assert exec_form(entrypoint) == ["parley"]
    check = healthcheck(parser)
    assert check[:2] == ["python", "-c"]  # the slim image has no curl or wget


def test_runtime_defaults_to_serve_on_8080_with_its_data_dir() -> None:
    parser = parse("Dockerfile.runtime")
    assert exec_form(parser.cmd) == ["serve", "-f", "/etc/parley/bot.yaml"]
    assert parser.envs["PARLEY_DATA_DIR"] == "/var/lib/parley"
    assert values(final_stage(parser), "EXPOSE") == ["8080"]
    assert "/health" in healthcheck(parser)[2]


def test_operator_defaults_to_the_operator_and_checks_kopf_liveness() -> None:
    parser = parse("Dockerfile.operator")
    assert exec_form(parser.cmd) == ["operator"]
    assert values(final_stage(parser), "EXPOSE") == ["8080 8081"]
    assert "127.0.0.1:8081/healthz" in healthcheck(parser)[2]


def test_both_images_install_the_same_way() -> None:
    """One install test (tests/integration/packaging) then covers both images."""
    runtime, operator = (install_commands(parse(name)) for name in DOCKERFILES)
    assert runtime == operator
    assert runtime[1][-1] == "parley==${VERSION}"


def test_dockerignore_lets_in_exactly_what_the_build_stage_copies() -> None:
    patterns = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert patterns[0] == "*"
    allowed = {p[1:].rstrip("/") for p in patterns if p.startswith("!")}
    copied = set()
    for name in DOCKERFILES:
        build = stages(parse(name))[0]
        for value in values(build, "COPY"):
            copied.update(src.rstrip("/") for src in value.split()[:-1])
    assert copied == allowed
    for path, wanted in (
        ("pyproject.toml", True),
        ("runtime/parley_runtime/cli.py", True),
        ("operator/parley_operator/render/pods.py", True),
        ("runtime/parley_runtime/__pycache__/cli.cpython-311.pyc", False),
        ("parley.egg-info/PKG-INFO", False),
        (".venv/bin/python", False),
        ("tests/conftest.py", False),
        (".git/HEAD", False),
        ("manifests/examples/secrets/quickstart-api/key", False),
    ):
        assert _sent_to_docker(path, patterns) is wanted, path


def _matches(path: str, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    parts = path.split("/")
    prefixes = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    if pattern.startswith("**/"):
        tail = pattern[3:]
        return any(fnmatch.fnmatch(part, tail) for part in parts)
    return any(fnmatch.fnmatch(prefix, pattern) for prefix in prefixes)


def _sent_to_docker(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last matching pattern wins; `!` re-includes."""
    included = True
    for pattern in patterns:
        negated = pattern.startswith("!")
        if _matches(path, pattern.lstrip("!")):
            included = negated
    return included
